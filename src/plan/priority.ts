import type { Priority } from './model.js';

/**
 * A phase's priority from its heading (`⭐ BOOTSTRAP`, `⭐ PRIORITY`, a bare ⭐, or the
 * upper-case words) and its `Priority` field (`bootstrap`; `priority`, `critical`,
 * `urgent`, `p0`). Anything else is normal.
 *
 * @example
 * priorityOf('Task Parser ⭐ BOOTSTRAP'); // 'bootstrap'
 */
export function priorityOf(headingText: string, fieldValue = ''): Priority {
  if (
    /\bBOOTSTRAP\b/.test(headingText) ||
    /⭐\s*bootstrap/iu.test(headingText) ||
    /\bbootstrap\b/i.test(fieldValue)
  ) {
    return 'bootstrap';
  }
  if (/\bPRIORITY\b|⭐/u.test(headingText) || /\b(priority|critical|urgent|p0)\b/i.test(fieldValue))
    return 'priority';
  return 'normal';
}

/**
 * A heading's title without its priority markers.
 *
 * @example
 * withoutMarkers('Task Parser ⭐ BOOTSTRAP'); // 'Task Parser'
 */
export function withoutMarkers(title: string): string {
  return title
    .replace(/⭐\s*(bootstrap|priority)?/giu, ' ')
    .replace(/\b(BOOTSTRAP|PRIORITY)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
