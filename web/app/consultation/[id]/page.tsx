import type { Metadata } from "next";

import { t } from "@/lib/i18n";

import { ConsultationView } from "@/components/ConsultationView";

export const metadata: Metadata = { title: t().titles.consultation };

// A static export has no server-side dynamic routes: the page is exported once, as
// /consultation/_ (out/consultation/_.html), and the server answers every /consultation/<id>
// with that file. The client reads the real id from location.pathname, not from params.
export const dynamicParams = false;

export function generateStaticParams(): { id: string }[] {
  return [{ id: "_" }];
}

export default function ConsultationPage() {
  return <ConsultationView />;
}
