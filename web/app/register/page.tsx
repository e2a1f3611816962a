import type { Metadata } from "next";

import { t } from "@/lib/i18n";

import { RegisterForm } from "@/components/RegisterForm";

export const metadata: Metadata = { title: t().titles.register };

export default function RegisterPage() {
  return <RegisterForm />;
}
