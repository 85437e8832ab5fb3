const greeting: string = "hello from sbx";
console.log(greeting);
