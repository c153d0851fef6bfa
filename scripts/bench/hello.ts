// A hello world built with the release flags: the floor of a compiled Bun program's start-up, for the start-up rows,
// and with --idle (it then stays up) of its memory, for the idle RSS row.
console.log("hello");
if (process.argv.includes("--idle")) setInterval(() => {}, 1 << 30);
