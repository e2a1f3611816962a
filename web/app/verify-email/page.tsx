import type { Metadata } from "next";

import { t } from "@/lib/i18n";

import { VerifyEmail } from "@/components/Recovery";

export const metadata: Metadata = { title: t().titles.verifyEmail };

export default function Page() {
  return <VerifyEmail />;
}
