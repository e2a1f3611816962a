import type { Metadata } from "next";

import { t } from "@/lib/i18n";

import { SecuritySettings } from "@/components/SecuritySettings";

export const metadata: Metadata = { title: t().titles.accountSecurity };

export default function SecurityPage() {
  return <SecuritySettings />;
}
