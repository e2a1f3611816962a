import type { Metadata } from "next";

import { DoctorDashboard } from "@/components/DoctorDashboard";

export const metadata: Metadata = { title: "Doctor dashboard" };

export default function DoctorDashboardPage() {
  return <DoctorDashboard />;
}
