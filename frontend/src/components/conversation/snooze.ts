// The snooze menu's quick choices, computed in the agent's local time.

export interface SnoozeChoice {
  label: string;
  at: Date;
}

/** In 1 hour, tomorrow 9:00, next Monday 9:00 (a week on when today is Monday). */
export function snoozeChoices(now: Date): SnoozeChoice[] {
  const hour = new Date(now.getTime() + 3600_000);
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 9, 0, 0, 0);
  const days = ((8 - now.getDay()) % 7) || 7; // to the next Monday, never today
  const monday = new Date(now.getFullYear(), now.getMonth(), now.getDate() + days, 9, 0, 0, 0);
  return [
    { label: "In 1 hour", at: hour },
    { label: "Tomorrow 9:00", at: tomorrow },
    { label: "Next week (Monday 9:00)", at: monday },
  ];
}

/** A <input type="datetime-local"> value for `date` (local time, minutes). */
export function localInputValue(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
