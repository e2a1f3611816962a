import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";

import { AppShell } from "@/components/AppShell";

import { LOCALE, t as messages, useMessages } from "@/lib/i18n";

import "./globals.css";

export const metadata: Metadata = {
  title: { default: messages().app.name, template: messages().app.titleTemplate },
  description: messages().app.description,
};

export const viewport: Viewport = {
  width: "device-width",
  initialScale: 1,
  themeColor: [
    { media: "(prefers-color-scheme: light)", color: "#1d4ed8" },
    { media: "(prefers-color-scheme: dark)", color: "#0f172a" },
  ],
};

export default function RootLayout({ children }: { children: ReactNode }) {
  const t = useMessages();
  return (
    <html lang={LOCALE}>
      <body className="min-h-screen">
        <a
          href="#main"
          className="sr-only z-50 rounded-md bg-white px-4 py-2 font-semibold text-blue-800 focus:not-sr-only focus:absolute focus:left-2 focus:top-2"
          data-testid="skip-link"
        >
          {t.app.skipToMain}
        </a>
        <AppShell>{children}</AppShell>
      </body>
    </html>
  );
}
