import type { Metadata } from "next";

import { t } from "@/lib/i18n";

import { DoctorDashboard } from "@/components/DoctorDashboard";

export const metadata: Metadata = { title: t().titles.doctorDashboard };

export default function DoctorDashboardPage() {
  return <DoctorDashboard />;
}
