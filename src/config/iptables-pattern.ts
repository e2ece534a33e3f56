import type { PortSpec, Proto } from '../core/door.js';

/**
 * Recognises the knockd door most people run: a start command that inserts an ACCEPT rule
 * for the knocker and a stop command that deletes the same rule, e.g.
 *
 *   iptables -I INPUT 1 -s %IP% -p tcp --dport 22 -j ACCEPT
 *   iptables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
 *
 * Such a door is what sesame does natively (`open: [22]`, `for: Cmd_Timeout`). Anything else
 * in the rule (other chains, interfaces, destinations, marks) is not recognised: that
 * command has meaning sesame can't see, so it stays a command. Pure.
 */
export interface AcceptRule {
  readonly tool: 'iptables' | 'ip6tables';
  readonly ports: readonly PortSpec[];
}

/** Parses `iptables -I|-A INPUT [N] <rule>` (start) or `iptables -D INPUT <rule>` (stop). */
export function parseAcceptRule(command: string, verb: 'add' | 'delete'): (AcceptRule & { rule: string }) | null {
  const words = command.trim().split(/\s+/);
  const tool = /^(?:\S*\/)?(iptables|ip6tables)(?:-nft|-legacy)?$/.exec(words.shift() ?? '')?.[1] as
    AcceptRule['tool'] | undefined;
  if (!tool) return null;
  let sawChain = false;
  let source = false;
  let jump = false;
  let proto: Proto | undefined;
  let ports: number[] | undefined;
  const rule: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const next = () => words[++i];
    switch (w) {
      case '-I':
      case '--insert':
      case '-A':
      case '--append':
      case '-D':
      case '--delete': {
        const isAdd = !w.includes('D') && !w.includes('delete');
        if (sawChain || isAdd !== (verb === 'add') || next() !== 'INPUT') return null;
        sawChain = true;
        if (w !== '-A' && w !== '--append' && /^\d+$/.test(words[i + 1] ?? '')) i++; // -I INPUT 1
        break;
      }
      case '-s':
      case '--source':
        if (next() !== '%IP%') return null;
        source = true;
        break;
      case '-p':
      case '--protocol': {
        const p = next();
        if (p !== 'tcp' && p !== 'udp') return null;
        proto = p;
        rule.push(`-p ${p}`);
        break;
      }
      case '-m':
      case '--match': {
        const m = next();
        if (m !== 'tcp' && m !== 'udp' && m !== 'multiport') return null;
        break;
      }
      case '--dport':
      case '--destination-port':
      case '--dports':
      case '--destination-ports': {
        const list = (next() ?? '').split(',');
        if (!list.every((p) => /^\d+$/.test(p) && Number(p) >= 1 && Number(p) <= 65535)) return null;
        ports = list.map(Number);
        rule.push(`--dport ${ports.join(',')}`);
        break;
      }
      case '-j':
      case '--jump':
        if (next() !== 'ACCEPT') return null;
        jump = true;
        break;
      default:
        return null;
    }
  }
  if (!sawChain || !source || !jump || !proto || !ports) return null;
  return { tool, ports: ports.map((port) => ({ port, proto: proto! })), rule: rule.join(' ') };
}

/**
 * The ports a start/stop pair opens for the knocker, when the stop deletes exactly the
 * rule the start added; null otherwise.
 */
export function recognisePair(start: string | undefined, stop: string | undefined): AcceptRule | null {
  if (!start || !stop) return null;
  const a = parseAcceptRule(start, 'add');
  const d = parseAcceptRule(stop, 'delete');
  if (!a || !d || a.tool !== d.tool || a.rule !== d.rule) return null;
  return { tool: a.tool, ports: a.ports };
}
