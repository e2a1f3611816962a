"use client";

import { useEffect, useState } from "react";

/**
 * The current time, ticking every `everyMs` until `until` has passed (then it stops), so a
 * countdown re-renders and a button enables itself at the right moment without a reload.
 */
export function useNow(until: Date | null, everyMs = 1_000): number {
  const [now, setNow] = useState(() => Date.now());
  const target = until?.getTime() ?? null;
  useEffect(() => {
    if (target === null || Date.now() >= target) return;
    const timer = setInterval(() => {
      const t = Date.now();
      setNow(t);
      if (t >= target) clearInterval(timer);
    }, everyMs);
    return () => clearInterval(timer);
  }, [target, everyMs]);
  return now;
}
