/**
 * What a door name may be, checked wherever one arrives (config, control socket, fleet
 * messages, knock tokens) and before one becomes a kernel set or chain name: it ends up in
 * nft scripts, so nothing else may pass.
 */

/** The longest door name: kernel names add suffixes to it and stay within their limits. */
export const DOOR_NAME_MAX = 24;

/** The pattern without anchors, for formats that embed a door name (knock tokens). */
export const DOOR_NAME_PATTERN = `[A-Za-z][A-Za-z0-9_-]{0,${DOOR_NAME_MAX - 1}}`;

export const DOOR_NAME = new RegExp(`^${DOOR_NAME_PATTERN}$`);

/** The rule in words, for error messages. */
export const DOOR_NAME_RULE = '1-24 letters, digits, _ or -, starting with a letter';

export const isDoorName = (name: unknown): name is string => typeof name === 'string' && DOOR_NAME.test(name);
