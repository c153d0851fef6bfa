// The one place a secret in a target is hidden before anything prints it.

/**
 * USERINFO matches the user information of a URL (`scheme://user:password@`): the password is group 2. It stops at
 * the first / ? or #, so an @ in a path or a query is no password.
 */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):([^/?#]*)@/i;

/**
 * redact hides the password of a URL as Go's URL.Redacted does: `http://alice:pw@h/` → `http://alice:***@h/`. A user
 * without a password is kept (it is no secret); text that is not such a URL comes back unchanged. Every printer
 * (text, JSON, nagios, prometheus, error messages) shows targets through it.
 */
export function redact(text: string): string {
  return text.replace(USERINFO, (_, before: string) => `${before}:***@`);
}

/** redactIn hides every URL password found anywhere inside a longer text, such as an error message. */
export function redactIn(text: string): string {
  return text.replace(
    /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:"]*):([^\s/?#"]*)@/gi,
    (_, before: string) => `${before}:***@`,
  );
}
