// A hello world built with the release flags: the floor of a compiled Bun program's start-up, for the start-up rows.
console.log("hello");
