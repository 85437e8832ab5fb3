cat("hello from sbx\n")
