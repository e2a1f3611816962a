import type { Metadata } from "next";

import { t } from "@/lib/i18n";

import { LoginForm } from "@/components/LoginForm";

export const metadata: Metadata = { title: t().titles.login };

export default function LoginPage() {
  return <LoginForm />;
}
