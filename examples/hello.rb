puts "hello from sbx"
