"use client";

import { useSyncExternalStore } from "react";

import { allTimeZones, browserTimeZone } from "@/lib/format";
import { useMessages } from "@/lib/i18n";

import { SelectField } from "./ui";

const noSubscribe = () => () => undefined;
let zonesCache: string[] | null = null;
const zones = () => (zonesCache ??= allTimeZones());
const serverZones = ["UTC"];

/** The browser's time zone (UTC while pre-rendering). */
export function useBrowserTimeZone(): string {
  return useSyncExternalStore(noSubscribe, browserTimeZone, () => "UTC");
}

export function TimeZoneSelect({
  id,
  label,
  value,
  onChange,
  error,
}: {
  id: string;
  label?: string;
  value: string;
  onChange: (zone: string) => void;
  error?: string;
}) {
  const t = useMessages();
  const list = useSyncExternalStore(noSubscribe, zones, () => serverZones);
  const options = list.includes(value) ? list : [value, ...list];
  return (
    <SelectField id={id} label={label ?? t.timeZoneSelect.timeZone} value={value} onChange={(e) => onChange(e.target.value)} error={error}>
      {options.map((zone) => (
        <option key={zone} value={zone}>
          {zone.replace(/_/g, " ")}
        </option>
      ))}
    </SelectField>
  );
}
