// Reads what an executable is from its first bytes: ELF, Mach-O or PE, its CPU, and an ELF's program interpreter.

/** Header is what the first bytes of an executable say about it. */
export interface Header {
  format: "ELF64" | "Mach-O 64" | "PE32+" | "unknown";
  /** machine names the CPU the way `file` would: x86-64, aarch64, arm64. */
  machine: string;
  /** interp is an ELF's PT_INTERP: the dynamic loader, which tells glibc from musl. */
  interp?: string;
  /** subsystem is a PE's: 3 is a console program, which a CLI must be. */
  subsystem?: number;
}

const ELF_MACHINES: Record<number, string> = { 62: "x86-64", 183: "aarch64" };
const MACHO_CPUS: Record<number, string> = { 16777223: "x86-64", 16777228: "arm64" };
const PE_MACHINES: Record<number, string> = { 34404: "x86-64", 43620: "arm64" };

/** readHeader reads the first 64 KiB of path: enough for every header and the ELF program headers. */
export async function readHeader(path: string): Promise<Header> {
  const bytes = new Uint8Array(await Bun.file(path).slice(0, 65536).arrayBuffer());
  const view = new DataView(bytes.buffer);
  const hex = (n: number) => `0x${n.toString(16)}`;

  // ELF: 7f 'E' 'L' 'F', class 2 (64-bit), data 1 (little-endian).
  if (view.getUint32(0, false) === 0x7f454c46 && bytes[4] === 2 && bytes[5] === 1) {
    const machine = view.getUint16(0x12, true);
    const phoff = Number(view.getBigUint64(0x20, true));
    const phentsize = view.getUint16(0x36, true);
    const phnum = view.getUint16(0x38, true);
    let interp: string | undefined;
    for (let i = 0; i < phnum; i++) {
      const ph = phoff + i * phentsize;
      if (view.getUint32(ph, true) !== 3) continue; // PT_INTERP
      const offset = Number(view.getBigUint64(ph + 8, true));
      const size = Number(view.getBigUint64(ph + 32, true));
      interp = new TextDecoder().decode(bytes.subarray(offset, offset + size)).replace(/\0+$/, "");
    }
    return { format: "ELF64", machine: ELF_MACHINES[machine] ?? hex(machine), interp };
  }

  // Mach-O 64-bit, little-endian: MH_MAGIC_64 (0xfeedfacf) then cputype.
  if (view.getUint32(0, true) === 0xfeedfacf) {
    const cpu = view.getUint32(4, true);
    return { format: "Mach-O 64", machine: MACHO_CPUS[cpu] ?? hex(cpu) };
  }

  // PE: "MZ", e_lfanew at 0x3c points at "PE\0\0", the COFF header, then the optional header.
  if (bytes[0] === 0x4d && bytes[1] === 0x5a) {
    const pe = view.getUint32(0x3c, true);
    if (view.getUint32(pe, false) === 0x50450000) {
      const machine = view.getUint16(pe + 4, true);
      const optional = pe + 24;
      const magic = view.getUint16(optional, true);
      const subsystem = view.getUint16(optional + 68, true);
      return {
        format: magic === 0x20b ? "PE32+" : "unknown",
        machine: PE_MACHINES[machine] ?? hex(machine),
        subsystem,
      };
    }
  }
  return { format: "unknown", machine: "unknown" };
}
