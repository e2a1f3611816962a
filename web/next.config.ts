import type { NextConfig } from "next";

// A static export: the Litestar app serves web/out from "/" on the same origin as the API and
// the hub. Pages with an id in the path are exported once for the placeholder id "_" and read
// the real id from location.pathname (see docs/architecture.md).
const nextConfig: NextConfig = {
  output: "export",
  trailingSlash: false,
  images: { unoptimized: true },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
