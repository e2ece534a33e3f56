// The .deb's maintainer scripts. The systemd parts are debhelper's own snippets as
// `dh_installsystemd --no-enable --no-start` writes them (debhelper 13, restart after upgrade):
// installing enables and starts nothing (the admin does, after writing a door), an upgrade
// try-restarts a running daemon, remove stops it, purge forgets its enable links.
//
// sesame's own parts: the state dir is made here (0700) rather than shipped, so dpkg never
// removes it on `remove`; purge removes it and the kernel table. Every path honours DPKG_ROOT
// (dpkg --root with --force-script-chrootless, how the tests install into a temporary root),
// and nothing touches the running system's kernel or systemd when DPKG_ROOT is set.
const UNIT = "'sesame.service'";

const postinst = `#!/bin/sh
set -e

if [ "$1" = "configure" ]; then
	# pending stop commands, replay caches, one-time sequence files: root's only
	if [ ! -d "\${DPKG_ROOT:-}/var/lib/sesame" ]; then
		install -d -m 0700 "\${DPKG_ROOT:-}/var/lib/sesame"
	fi
fi

# Automatically added by dh_installsystemd/13.11.4
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if deb-systemd-helper debian-installed ${UNIT}; then
		# The following line should be removed in trixie or trixie+1
		deb-systemd-helper unmask ${UNIT} >/dev/null || true

		if deb-systemd-helper --quiet was-enabled ${UNIT}; then
			# Create new symlinks, if any.
			deb-systemd-helper enable ${UNIT} >/dev/null || true
		fi
	fi

	# Update the statefile to add new symlinks (if any), which need to be cleaned
	# up on purge. Also remove old symlinks.
	deb-systemd-helper update-state ${UNIT} >/dev/null || true
fi
# End automatically added section
# Automatically added by dh_installsystemd/13.11.4
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if [ -z "\${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			deb-systemd-invoke try-restart ${UNIT} >/dev/null || true
		fi
	fi
fi
# End automatically added section

if [ "$1" = "configure" ] && [ -z "$2" ]; then
	echo "sesame: no door is enabled yet. Write one in /etc/sesame/sesame.yaml, then:"
	echo "sesame:   sesame check -c /etc/sesame/sesame.yaml && systemctl enable --now sesame"
fi

exit 0
`;

const prerm = `#!/bin/sh
set -e

# Automatically added by dh_installsystemd/13.11.4
if [ -z "\${DPKG_ROOT:-}" ] && [ "$1" = remove ] && [ -d /run/systemd/system ] ; then
	deb-systemd-invoke stop ${UNIT} >/dev/null || true
fi
# End automatically added section

exit 0
`;

const postrm = `#!/bin/sh
set -e

if [ "$1" = "remove" ]; then
	echo "sesame: removed. Left in place: /etc/sesame (your doors), /var/lib/sesame (state) and the"
	echo "sesame: kernel table inet sesame (doors keep working, grants expire on time);"
	echo "sesame: 'apt purge sesame' removes them, 'nft delete table inet sesame' removes the doors now."
fi

if [ "$1" = "purge" ]; then
	rm -rf "\${DPKG_ROOT:-}/var/lib/sesame"
	echo "sesame: purged: /etc/sesame/sesame.yaml and /var/lib/sesame removed."
	# the doors and grants live in the running kernel: only a purge on the running system removes them
	if [ -z "\${DPKG_ROOT:-}" ]; then
		if command -v nft >/dev/null 2>&1 && nft delete table inet sesame >/dev/null 2>&1; then
			echo "sesame: kernel table inet sesame removed: the ports its doors hid are no longer filtered by it."
		fi
	else
		echo "sesame: installed under $DPKG_ROOT: the running kernel's table inet sesame is left alone."
	fi
	if [ -d "\${DPKG_ROOT:-}/etc/sesame" ]; then
		echo "sesame: left /etc/sesame: it holds files the package did not install (keys, certificates)."
	fi
fi

# Automatically added by dh_installsystemd/13.11.4 (with the DPKG_ROOT check later versions add)
if [ -z "\${DPKG_ROOT:-}" ] && [ "$1" = remove ] && [ -d /run/systemd/system ] ; then
	systemctl --system daemon-reload >/dev/null || true
fi
# End automatically added section
# Automatically added by dh_installsystemd/13.11.4
if [ "$1" = "purge" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper purge ${UNIT} >/dev/null || true
	fi
fi
# End automatically added section

exit 0
`;

export const maintainerScripts = { postinst, prerm, postrm };
