import { cisDocker, dockle } from './references.js';
import { everyProfile, type HardeningRule } from './rule.js';

/**
 * Debian packages that run a remote-login service or a network super-server. Each is a way into a
 * running instance, which herd's immutability forbids (no exec, no shell, no copy-in). Grouped by
 * what they serve; the list is by binary package name, as the dpkg database names them.
 */
export const remoteLoginPackageNames: ReadonlyMap<string, string> = new Map([
  // SSH servers
  ['openssh-server', 'an SSH server'],
  ['openssh-sftp-server', 'an SFTP server'],
  ['dropbear', 'an SSH server'],
  ['dropbear-bin', 'an SSH server'],
  ['tinysshd', 'an SSH server'],
  // telnet, rlogin and rsh: clear-text remote login
  ['telnetd', 'a telnet server'],
  ['telnetd-ssl', 'a telnet server'],
  ['inetutils-telnetd', 'a telnet server'],
  ['rsh-server', 'an rsh/rlogin server'],
  ['rsh-redone-server', 'an rsh/rlogin server'],
  ['inetutils-rlogind', 'an rlogin server'],
  ['inetutils-rshd', 'an rsh server'],
  // network super-servers, which start any of the above on demand
  ['xinetd', 'a network super-server'],
  ['openbsd-inetd', 'a network super-server'],
  ['inetutils-inetd', 'a network super-server'],
  ['rlinetd', 'a network super-server'],
  ['micro-inetd', 'a network super-server'],
  // file transfer daemons with logins
  ['vsftpd', 'an FTP server'],
  ['proftpd-basic', 'an FTP server'],
  ['pure-ftpd', 'an FTP server'],
  ['inetutils-ftpd', 'an FTP server'],
  ['ftpd', 'an FTP server'],
  ['tftpd', 'a TFTP server'],
  ['tftpd-hpa', 'a TFTP server'],
  ['atftpd', 'a TFTP server'],
  // remote desktops
  ['xrdp', 'a remote desktop server'],
  ['tigervnc-standalone-server', 'a VNC server'],
  ['x11vnc', 'a VNC server'],
  // legacy user-information daemons
  ['fingerd', 'a finger daemon'],
  ['inetutils-talkd', 'a talk daemon'],
  ['talkd', 'a talk daemon'],
  ['rwhod', 'an rwho daemon'],
]);

export const remoteLoginPackages: HardeningRule = {
  id: 'HERD-H004',
  name: 'remote-login-packages',
  title: 'No remote-login or network daemon packages',
  severity: 'error',
  rationale:
    'herd instances are replaced, never logged into. An SSH, telnet, rsh or FTP server, or an inetd that starts one, is a door into a running instance and more code that can be attacked.',
  references: [
    cisDocker('4.3', 'Ensure that unnecessary packages are not installed in the container'),
    cisDocker('5.6', 'Ensure sshd is not run within containers'),
    dockle('CIS-DI-0003', 'Do not install unnecessary packages in the container'),
  ],
  profiles: everyProfile,
  check({ view }) {
    return view.packages.flatMap((pkg) => {
      const what = remoteLoginPackageNames.get(pkg.name);
      return what === undefined
        ? []
        : [
            {
              message: `package ${pkg.name} ${pkg.version} is ${what}`,
              location: { path: pkg.recordPath, package: pkg.name },
            },
          ];
    });
  },
};
