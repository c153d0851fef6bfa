// Datagrams a UDP server must never answer: the ways a forged source turns a server into a weapon or a loop.

/**
 * SERVICE_PORTS_ABOVE_1023 are UDP services above the privileged range that answer what they are
 * sent, so a datagram "from" one of them is a forged attempt to loop us into it or to reflect off us
 * onto it: SSDP 1900, MS-SQL browser 1434, Apple Remote Desktop 3283, STUN 3478, WS-Discovery 3702,
 * SIP 5060, NAT-PMP 5351, mDNS 5353, CoAP 5683, Ubiquiti discovery 10001, memcached 11211, upcat's own
 * 12000, VxWorks debug 17185, Quake 26000, Steam 27015, Quake 3 27960, Plex 32414, Jenkins 33848 (the
 * sources US-CERT TA14-017A and later amplification reports list). Clients use ephemeral source ports,
 * so refusing these costs a real client almost nothing.
 */
export const SERVICE_PORTS_ABOVE_1023 = [
  1434, 1900, 3283, 3478, 3702, 5060, 5351, 5353, 5683, 10001, 11211, 12000, 17185, 26000, 27015, 27960, 32414, 33848,
] as const;

/**
 * FIRST_CLIENT_PORT: every port below it is a privileged service's (DNS 53, NTP 123, SNMP 161, chargen 19 ...), never a
 * client's.
 */
const FIRST_CLIENT_PORT = 1024;

/**
 * refused[port] is non-zero when a datagram from that source port is never answered: the service
 * ports above, plus one count for each UDP port this process serves (whatever protocol), so two of
 * our own services, or two upcat servers on the same port, cannot answer each other. (TCP ports are
 * not counted: a loop needs a UDP port that answers, and a UDP client of this process may well get
 * the number of one of our TCP ports as its own.)
 */
const refused = new Uint8Array(65536);
refused.fill(1, 0, FIRST_CLIENT_PORT);
for (const port of SERVICE_PORTS_ABOVE_1023) refused[port] = 1;
const STATIC = refused.slice();

/**
 * isServicePort says whether every upcat server refuses datagrams from this source port, whatever it serves: a UDP
 * client of ours must not send from one (client-port.ts).
 */
export const isServicePort = (port: number): boolean => STATIC[port] !== 0;

/** markServed notes a port this process now serves; unmarkServed undoes it when that listener stops. */
export function markServed(port: number): void {
  refused[port] = Math.min(255, refused[port]! + 1);
}
export function unmarkServed(port: number): void {
  if (refused[port]! > STATIC[port]!) refused[port]!--;
}

/** isUnanswerable says whether a reply to this source would be reflection rather than service. */
export function isUnanswerable(address: string, port: number): boolean {
  return isRefusedPort(port) || isUnanswerableAddress(address);
}

/** isRefusedPort is isUnanswerable's part that depends on the source port alone. */
export const isRefusedPort = (port: number): boolean => refused[port] !== 0;

/**
 * isUnanswerableAddress is isUnanswerable's part that depends on the address alone (a plain address), which the batch
 * engine works out once a source (SourceKeys).
 */
export function isUnanswerableAddress(address: string): boolean {
  // This runs for every datagram on Bun's socket: read the text cheaply instead of parsing the address.
  if (!address.includes(":")) {
    const first = parseInt(address, 10);
    // Multicast 224/4, reserved 240/4 with the limited broadcast, and "this network" 0/8. A subnet's
    // own broadcast address cannot be told from a host's without the netmask, so it is not guessed at.
    return first >= 224 || first === 0;
  }
  const lead = address.slice(0, 2).toLowerCase();
  return lead === "ff" || address === "::";
}
