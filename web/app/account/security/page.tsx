import type { Metadata } from "next";

import { NotificationPreferences } from "@/components/NotificationPreferences";
import { SecuritySettings } from "@/components/SecuritySettings";

export const metadata: Metadata = { title: "Sign-in security" };

export default function SecurityPage() {
  return (
    <>
      <SecuritySettings />
      <NotificationPreferences />
    </>
  );
}
