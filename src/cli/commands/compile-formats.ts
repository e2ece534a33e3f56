/** Output formats of `sesame compile` (kept apart so the CLI can list them without loading compilers). */
export const COMPILE_FORMATS = ['nft', 'iptables-restore', 'ip6tables-restore'] as const;
export type CompileFormat = (typeof COMPILE_FORMATS)[number];
