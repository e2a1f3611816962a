import type { Metadata } from "next";

import { t } from "@/lib/i18n";

import { AccountSettings } from "@/components/AccountSettings";

export const metadata: Metadata = { title: t().titles.account };

export default function AccountPage() {
  return <AccountSettings />;
}
