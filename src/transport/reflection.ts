// Datagrams a UDP server must never answer: the ways a spoofed source turns a server into a weapon.

/**
 * SERVICE_PORTS are the simple services' ports: a datagram "from" one of them is a forged attempt to
 * loop two servers into each other (chargen ↔ echo, CERT CA-1996-01).
 */
const SERVICE_PORTS = new Set([7, 9, 13, 17, 19, 37]);

/** isUnanswerable says whether a reply to this source would be reflection rather than service. */
export function isUnanswerable(address: string, port: number): boolean {
  if (SERVICE_PORTS.has(port) || port === 0) return true;
  // This runs for every datagram: read the text cheaply instead of parsing the address.
  if (!address.includes(":")) {
    const first = parseInt(address, 10);
    // Multicast 224/4, reserved 240/4 with the limited broadcast, and "this network" 0/8. A subnet's
    // own broadcast address cannot be told from a host's without the netmask, so it is not guessed at.
    return first >= 224 || first === 0;
  }
  const lead = address.slice(0, 2).toLowerCase();
  return lead === "ff" || address === "::";
}
