"use client";

import { useRouter } from "next/navigation";
import { useEffect } from "react";

import { Loading } from "@/components/ui";
import { dashboardFor, useSession } from "@/lib/session";
import { useMessages } from "@/lib/i18n";

/** "/" sends people to their dashboard, or to sign in. */
export default function Home() {
  const t = useMessages();
  const session = useSession();
  const router = useRouter();
  useEffect(() => {
    if (session.status !== "loading") router.replace(dashboardFor(session.user));
  }, [session.status, session.user, router]);
  return (
    <div data-testid="home">
      <h1 className="sr-only">{t.app.name}</h1>
      <Loading label={t.app.openingDashboard} />
    </div>
  );
}
