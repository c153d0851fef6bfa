// RFC 865, the Quote of the Day Protocol: one short quote per request, whatever the request says.
import { UsageError } from "../errors.ts";
import type { Protocol } from "./protocol.ts";

/** MAX_QUOTE: the RFC asks for a message under 512 characters; the CRLF counts too. */
export const MAX_QUOTE = 511;

/** MAX_QUOTES_FILE bounds --quotes: 1 MiB holds thousands of quotes, and the server keeps them all in memory. */
export const MAX_QUOTES_FILE = 1 << 20;

const BUILT_IN = [
  "Be conservative in what you do, be liberal in what you accept from others. -- Jon Postel, RFC 793",
  "We reject kings, presidents and voting. We believe in rough consensus and running code. -- David D. Clark",
  "Simplicity is prerequisite for reliability. -- Edsger W. Dijkstra",
  "Premature optimization is the root of all evil. -- Donald E. Knuth",
  "The network is the computer. -- John Gage",
  "Any sufficiently advanced technology is indistinguishable from magic. -- Arthur C. Clarke",
];

/**
 * parseQuotes reads a quotes file: fortune's format (quotes between lines holding only "%"), or
 * else one quote a line. Every quote must fit the RFC's limit.
 */
export function parseQuotes(text: string, source: string): string[] {
  const normalized = text.replace(/\r\n/g, "\n");
  const parts = /^%$/m.test(normalized) ? normalized.split(/^%$/m) : normalized.split("\n");
  const quotes = parts.map((q) => q.trim()).filter((q) => q !== "");
  if (quotes.length === 0) throw new UsageError(`${source} holds no quotes`);
  quotes.forEach((q, i) => {
    const size = Buffer.byteLength(q) + 2;
    if (size > MAX_QUOTE)
      throw new UsageError(`quote ${i + 1} in ${source} is ${size} bytes with its CRLF; RFC 865 wants under 512`);
  });
  return quotes;
}

/** qotd makes the protocol with a set of quotes, each sent with a CRLF, picked at random. */
export function qotd(quotes: readonly string[] = BUILT_IN): Protocol {
  const encoded = quotes.map((q) => new TextEncoder().encode(`${q}\r\n`));
  const pick = () => encoded[Math.floor(Math.random() * encoded.length)]!;
  return {
    name: "qotd",
    port: 17,
    spec: "RFC 865",
    summary: "answers with a short quote, then closes",
    datagram: () => pick(),
    stream: () => ({ greet: pick, closeAfterGreeting: true }),
    client: {
      speaksFirst: true,
      replies: true,
      verify: (reply) =>
        reply.length === 0
          ? "no quote came"
          : reply.length > MAX_QUOTE
            ? `the quote is ${reply.length} bytes, over RFC 865's 511`
            : undefined,
    },
  };
}
