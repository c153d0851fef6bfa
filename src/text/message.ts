// How an error message reaches a person: one line, no secret, no control character, whatever it quotes.
import { redactIn } from "./redact.ts";
import { escapeControl } from "./shown.ts";

/** MESSAGE_MAX bounds one message: a message quotes its input cut, and this catches any that does not. */
const MESSAGE_MAX = 2000;

/** shownMessage is a message as printed: URL passwords hidden, control characters escaped, at most MESSAGE_MAX long. */
export function shownMessage(message: string): string {
  const shown = escapeControl(redactIn(message));
  return shown.length > MESSAGE_MAX ? `${shown.slice(0, MESSAGE_MAX)}… (message cut)` : shown;
}
