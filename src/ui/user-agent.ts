/**
 * "Firefox 133 on Windows" from a User-Agent header, for the devices list. Deliberately small:
 * the major browsers and systems, by the tokens they document; anything else shows as the first
 * product token, or "Unknown browser". It labels a device for its owner; it is never used to
 * decide anything (a User-Agent is whatever the client says).
 */
export interface DeviceLabel {
  browser: string;
  os: string | null;
}

// Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
const BROWSERS: readonly [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/\bOPR\/(\d+)/, 'Opera'],
  [/\bSamsungBrowser\/(\d+)/, 'Samsung Internet'],
  [/\bFirefox\/(\d+)/, 'Firefox'],
  [/\bFxiOS\/(\d+)/, 'Firefox'],
  [/\bHeadlessChrome\/(\d+)/, 'Headless Chrome'],
  [/\bCriOS\/(\d+)/, 'Chrome'],
  [/\bChrome\/(\d+)/, 'Chrome'],
  [/\bVersion\/(\d+)(?:\.\d+)*(?: Mobile\/\S+)? Safari\//, 'Safari'],
  [/^curl\/(\d+)/, 'curl'],
];

const SYSTEMS: readonly [RegExp, string | ((m: RegExpExecArray) => string)][] = [
  [/\b(?:iPhone|iPod)\b/, 'iOS'],
  [/\biPad\b/, 'iPadOS'],
  [/\bAndroid (\d+)/, (m) => `Android ${m[1] ?? ''}`.trim()],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows NT\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

export function describeUserAgent(userAgent: string | null): DeviceLabel {
  if (userAgent === null || userAgent.trim() === '') return { browser: 'Unknown browser', os: null };
  const ua = userAgent.slice(0, 512);
  let browser: string | null = null;
  for (const [pattern, name] of BROWSERS) {
    const m = pattern.exec(ua);
    if (m !== null) {
      browser = `${name} ${m[1] ?? ''}`.trim();
      break;
    }
  }
  // Not a known browser: the first product token ("node", "okhttp/4.12") says what it is.
  browser ??= /^([A-Za-z][\w.-]{0,30})(?:\/([\w.]{1,20}))?/.exec(ua)?.[0] ?? 'Unknown browser';
  let os: string | null = null;
  for (const [pattern, name] of SYSTEMS) {
    const m = pattern.exec(ua);
    if (m !== null) {
      os = typeof name === 'string' ? name : name(m);
      break;
    }
  }
  return { browser, os };
}

export function deviceText(userAgent: string | null): string {
  const { browser, os } = describeUserAgent(userAgent);
  return os === null ? browser : `${browser} on ${os}`;
}
