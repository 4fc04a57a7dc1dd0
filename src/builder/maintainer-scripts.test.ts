import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readMaintainerScript } from './maintainer-scripts.js';

/** mawk's postinst in bookworm, as it is. */
const mawkPostinst = `#!/bin/sh
set -e
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ]; then
        update-alternatives --install /usr/bin/awk awk /usr/bin/mawk 5 \\
            --slave /usr/share/man/man1/awk.1.gz awk.1.gz /usr/share/man/man1/mawk.1.gz \\
            --slave /usr/bin/nawk nawk /usr/bin/mawk
fi
`;

/** The parts of openjdk-17-jre-headless's postinst that matter: constants, a loop, slaves in variables. */
const openjdkPostinst = `#!/bin/sh
set -e
priority=1711
basedir=/usr/lib/jvm/java-17-openjdk-amd64
jre_tools='java keytool'
case "$1" in
configure)
    [ -d /etc/.java ] || mkdir -m 755 /etc/.java
    if [ -n "$multiarch" ] && [ "$DPKG_MAINTSCRIPT_ARCH" != $(dpkg --print-architecture) ]; then
	priority=$(expr $priority - 1)
    fi
    for i in $jre_tools; do
	unset slave1 slave2 || true
        update-alternatives \\
            --install \\
            /usr/bin/$i \\
            $i \\
            $basedir/bin/$i \\
            $priority \\
	    $slave1 $slave2
    done
    update-binfmts --package openjdk-17 --import jar || true
    ;;
esac
`;

describe('readMaintainerScript', () => {
  it('reads update-alternatives --install with its slaves across continued lines', () => {
    const actions = readMaintainerScript(mawkPostinst);

    assert.deepEqual(actions.alternatives, [
      {
        link: '/usr/bin/awk',
        name: 'awk',
        path: '/usr/bin/mawk',
        priority: 5,
        slaves: [
          { link: '/usr/share/man/man1/awk.1.gz', name: 'awk.1.gz', path: '/usr/share/man/man1/mawk.1.gz' },
          { link: '/usr/bin/nawk', name: 'nawk', path: '/usr/bin/mawk' },
        ],
      },
    ]);
    assert.deepEqual(actions.unreproduced, []);
  });

  it("expands the script's top constants and its for loops, and reports the words it cannot resolve", () => {
    const actions = readMaintainerScript(openjdkPostinst);

    assert.deepEqual(
      actions.alternatives.map((a) => [a.link, a.path, a.priority]),
      [
        ['/usr/bin/java', '/usr/lib/jvm/java-17-openjdk-amd64/bin/java', 1711],
        ['/usr/bin/keytool', '/usr/lib/jvm/java-17-openjdk-amd64/bin/keytool', 1711],
      ],
    );
    assert.deepEqual(actions.directories, [{ path: '/etc/.java', mode: 0o755 }]);
    // $slave1 $slave2 are set in branches herd does not run: the line is reported, not guessed.
    assert.ok(actions.unreproduced.some((line) => line.includes('$slave1 $slave2')));
    assert.ok(actions.unreproduced.includes('update-binfmts --package openjdk-17 --import jar || true'));
  });

  it('reports an update-alternatives line whose link or path is a variable it does not know', () => {
    const actions = readMaintainerScript(
      'for i in $tools; do\n update-alternatives --install /usr/bin/$i $i /opt/$i 10\ndone\n',
    );

    assert.deepEqual(actions.alternatives, []);
    assert.deepEqual(actions.unreproduced, ['update-alternatives --install /usr/bin/$i $i /opt/$i 10']);
  });

  it('reads system users and groups from adduser, useradd, addgroup and groupadd', () => {
    const actions = readMaintainerScript(`#!/bin/sh
adduser --system --group --home /var/lib/redis --no-create-home --quiet redis
addgroup --system --quiet ssl-cert
useradd -r -g nogroup -d /var/empty -s /usr/sbin/nologin sshd
groupadd -r _chrony
adduser www-data ssl-cert
adduser --system --uid 400 fixed
`);

    assert.deepEqual(actions.accounts, [
      { kind: 'group', name: 'redis' },
      { kind: 'user', name: 'redis', home: '/var/lib/redis', group: 'redis' },
      { kind: 'group', name: 'ssl-cert' },
      { kind: 'user', name: 'sshd', home: '/var/empty', group: 'nogroup' },
      { kind: 'group', name: '_chrony' },
    ]);
    // Adding a user to a group, and a package's own fixed uid, are not reproduced: reported.
    assert.deepEqual(actions.unreproduced, ['adduser www-data ssl-cert', 'adduser --system --uid 400 fixed']);
  });

  it('reads folders with literal mode and owner, links, and the accounts chown names, as nginx-common does', () => {
    const actions = readMaintainerScript(`case "$1" in
  configure)
    logdir="/var/log/nginx"
    chown www-data:adm "$access_log"
    install -d -o www-data -g adm -m 0750 /var/lib/thing
    if [ -z $2 ] && [ ! -e /etc/nginx/sites-enabled/default ]; then
      ln -s /etc/nginx/sites-available/default /etc/nginx/sites-enabled/default
    fi
    mkdir -p /var/www/html
    cp /usr/share/nginx/html/index.html /var/www/html/index.nginx-debian.html
    ;;
esac
`);

    assert.deepEqual(actions.directories, [
      { path: '/var/lib/thing', mode: 0o750, owner: 'www-data', group: 'adm' },
      { path: '/var/www/html' },
    ]);
    assert.deepEqual(actions.links, [
      { link: '/etc/nginx/sites-enabled/default', target: '/etc/nginx/sites-available/default' },
    ]);
    assert.deepEqual(actions.accountsUsed.sort(), ['adm', 'www-data']);
    assert.deepEqual(actions.unreproduced, [
      'chown www-data:adm "$access_log"',
      'cp /usr/share/nginx/html/index.html /var/www/html/index.nginx-debian.html',
    ]);
  });

  it('ignores service management and debconf, which have no effect in an image', () => {
    const actions = readMaintainerScript(
      '. /usr/share/debconf/confmodule\ndeb-systemd-helper enable nginx.service\ninvoke-rc.d nginx start || exit 1\nldconfig\n',
    );

    assert.deepEqual(actions.unreproduced, []);
  });
});
