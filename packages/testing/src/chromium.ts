/**
 * How the browser tests launch Chromium: Debian's build, headless, with the
 * flags that keep it off the closed network (background networking, updates,
 * sync) and working as root. `chromium.launch(CHROMIUM)` (playwright-core).
 */
export const CHROMIUM: { executablePath: string; args: string[] } = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};
