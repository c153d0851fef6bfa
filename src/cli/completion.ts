// `upcat completion SHELL`: shell completion scripts, from the cac definitions through @bomb.sh/tab.
//
// tab builds its tree from every command and option cac knows, and adds `upcat complete -- WORDS...`:
// the generated scripts call that at each TAB, so completions always match the binary that answers.
// registerCompletion must therefore run after every other command is registered.
import type { CAC } from "cac";
import tab from "@bomb.sh/tab/cac";
import { script, type Complete } from "@bomb.sh/tab";
import { UsageError } from "../errors.ts";
import { protocols } from "../protocol/index.ts";
import type { Io } from "./io.ts";
import { quote } from "../text/shown.ts";

/** SHELLS are the shells tab writes scripts for. */
const SHELLS = ["bash", "zsh", "fish", "powershell"] as const;

export function registerCompletion(cli: CAC, io: Io): void {
  cli
    .command("completion <shell>", `Print the completion script for ${SHELLS.join(", ")}`)
    .example("  upcat completion bash > ~/.local/share/bash-completion/completions/upcat")
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell's ${...}, printed for the user to run
    .example('  upcat completion zsh > "${fpath[1]}/_upcat"')
    .example("  upcat completion powershell >> $PROFILE")
    .action(async (shell: unknown) => {
      const name = String(shell);
      if (!(SHELLS as readonly string[]).includes(name))
        throw new UsageError(`unknown shell ${quote(name)} for completion (one of: ${SHELLS.join(", ")})`);
      await io.flush();
      // tab prints the script with console.log; nothing of ours is queued on stdout before it.
      script(name, "upcat", "upcat");
      return 0;
    });
  // tab reads the commands synchronously before its first await, so they are all there once this returns.
  // The closed sets of values: shells, and protocol names wherever a command takes --protocol.
  type Config = NonNullable<Parameters<typeof tab>[1]>;
  const subCommands: Record<string, Config> = {
    completion: {
      args: { shell: (complete: Complete) => SHELLS.forEach((shell) => complete(shell, `the ${shell} script`)) },
    },
  };
  for (const c of cli.commands) {
    if (!c.options.some((o) => o.name === "protocol")) continue;
    subCommands[c.name] = {
      options: {
        protocol: (complete: Complete) => Object.values(protocols).forEach((p) => complete(p.name, p.summary)),
      },
    };
  }
  void tab(asTyped(cli), { subCommands });
  const complete = cli.commands.find((c) => c.name === "complete");
  if (complete) complete.description = "Print completions for the words after -- (the completion scripts call this)";
}

/** Option is one of cac's options, as tab's adapter reads it. */
type Option = CAC["globalCommand"]["options"][number];

/**
 * asTyped is cac as tab's adapter should see it: tab registers each option by cac's `name`, which cac camel-cases
 * (`maxConnections`), so TAB offered `--maxConnections`, a flag no one can type back. Here each option is named by its
 * long flag as written (`max-connections`); everything else is the CLI itself, which tab also registers `complete` on.
 */
function asTyped(cli: CAC): CAC {
  const typed = (o: Option): Option => {
    const long = /--([\w-]+)/.exec(o.rawName)?.[1];
    return long === undefined || long === o.name ? o : Object.assign(Object.create(o), { name: long });
  };
  const command = <T extends { options: Option[] }>(c: T): T =>
    new Proxy(c, {
      get: (target, key, receiver) =>
        key === "options" ? target.options.map(typed) : Reflect.get(target, key, receiver),
    });
  return new Proxy(cli, {
    get(target, key, receiver) {
      if (key === "commands") return target.commands.map(command);
      if (key === "globalCommand") return command(target.globalCommand);
      const value = Reflect.get(target, key, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
