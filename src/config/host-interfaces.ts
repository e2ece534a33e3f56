import { existsSync, readdirSync } from 'node:fs';

/** Checks an `interface:` name against a host: null when it is there, else the problem. */
export type InterfaceCheck = (name: string) => string | null;

/**
 * Checks against this host (this network namespace: `ip netns exec` mounts its own sysfs).
 * A door bound to an interface the host lacks would never see its knocks, so it is refused.
 * `.` and `..` match the name syntax but are no interfaces.
 */
export const hostInterface: InterfaceCheck = (name) => {
  if (name !== '.' && name !== '..' && existsSync(`/sys/class/net/${name}`)) return null;
  let have: string[] = [];
  try {
    have = readdirSync('/sys/class/net').sort();
  } catch {}
  const known = have.length > 0 ? ` (it has ${have.join(', ')})` : '';
  return `no network interface "${name}" on this host${known}: knocks could never arrive on it, so the door would never open; name an interface this host has, or leave interface out to count knocks on every interface`;
};

/** For commands that read a config away from the server (`knock`, `token`): names are not checked. */
export const anyInterface: InterfaceCheck = () => null;
