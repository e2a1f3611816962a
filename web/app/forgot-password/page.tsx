import type { Metadata } from "next";

import { t } from "@/lib/i18n";

import { ForgotPasswordForm } from "@/components/Recovery";

export const metadata: Metadata = { title: t().titles.forgotPassword };

export default function Page() {
  return <ForgotPasswordForm />;
}
