import type { Metadata } from "next";

import { t } from "@/lib/i18n";

import { AdminDashboard } from "@/components/AdminDashboard";

export const metadata: Metadata = { title: t().titles.admin };

export default function AdminPage() {
  return <AdminDashboard />;
}
