import type { Metadata } from "next";

import { t } from "@/lib/i18n";

import { ResetPasswordForm } from "@/components/Recovery";

export const metadata: Metadata = { title: t().titles.resetPassword };

export default function Page() {
  return <ResetPasswordForm />;
}
