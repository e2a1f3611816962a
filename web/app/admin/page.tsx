import type { Metadata } from "next";

import { AdminDashboard } from "@/components/AdminDashboard";

export const metadata: Metadata = { title: "Administration" };

export default function AdminPage() {
  return <AdminDashboard />;
}
