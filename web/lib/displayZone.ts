"use client";

/**
 * Which time zone the times on a page are shown in. By default the device's own zone, since a
 * patient travelling with their phone thinks in local time; when it differs from the zone in
 * their profile a switch (components/TimeZoneSwitch.tsx) offers the profile's zone instead. The
 * choice is remembered on this device.
 */
import { useCallback, useSyncExternalStore } from "react";

import { browserTimeZone } from "./format";

const KEY = "cc-time-zone-choice";
const listeners = new Set<() => void>();

export type ZoneChoice = "device" | "profile";

function readChoice(): ZoneChoice {
  try {
    return window.localStorage.getItem(KEY) === "profile" ? "profile" : "device";
  } catch {
    return "device";
  }
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  const onStorage = (event: StorageEvent) => {
    if (event.key === KEY) listener();
  };
  window.addEventListener("storage", onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("storage", onStorage);
  };
}

const noSubscribe = () => () => undefined;

export interface DisplayZone {
  /** The zone to format times in. */
  zone: string;
  deviceZone: string;
  profileZone: string;
  choice: ZoneChoice;
  /** True when the device and the profile disagree (the switch is worth showing). */
  differs: boolean;
  choose: (choice: ZoneChoice) => void;
}

export function useDisplayZone(profileZone: string): DisplayZone {
  const deviceZone = useSyncExternalStore(noSubscribe, browserTimeZone, () => profileZone);
  const choice = useSyncExternalStore(subscribe, readChoice, () => "device" as ZoneChoice);
  const choose = useCallback((next: ZoneChoice) => {
    try {
      window.localStorage.setItem(KEY, next);
    } catch {
      // Private mode without storage: the choice lasts until the page is left.
    }
    for (const listener of listeners) listener();
  }, []);
  const differs = deviceZone !== profileZone;
  const zone = differs && choice === "profile" ? profileZone : deviceZone;
  return { zone, deviceZone, profileZone, choice, differs, choose };
}
