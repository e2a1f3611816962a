import type { Metadata } from "next";

import { PatientDashboard } from "@/components/PatientDashboard";

export const metadata: Metadata = { title: "Your visits" };

export default function PatientDashboardPage() {
  return <PatientDashboard />;
}
