"""A TypeScript client generated from the served ``/schema/openapi.json`` type-checks real calls.

openapi-typescript (the generator ``cd web && npm run types`` uses) turns the document the app
serves into types; ``tsc --strict`` then checks a small client making typed calls to ten
operations: their paths, path, query and header parameters (``Idempotency-Key``, ``If-Match``),
bodies, success bodies and problem+json errors. The same client with a wrong field must fail,
so the check can fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import app_client, make_settings

WEB = Path(__file__).resolve().parents[1] / "web"
GENERATOR = WEB / "node_modules" / ".bin" / "openapi-typescript"
TSC = WEB / "node_modules" / ".bin" / "tsc"

CLIENT = """
import type { components, operations, paths } from "./api";

type Problem = components["schemas"]["Problem"];
type Method = "get" | "post" | "put" | "patch" | "delete";
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Input<O> = (O extends { parameters: infer A } ? A : {}) &
  (O extends { requestBody: { content: { "application/json": infer B } } }
    ? { body: B }
    : O extends { requestBody?: { content: { "application/json": infer B } } }
      ? { body?: B }
      : {}) & { token?: string };
type Ok<O> = O extends { responses: infer R }
  ? {
      [S in keyof R]: S extends 200 | 201 | 202
        ? R[S] extends { content: { "application/json": infer J } }
          ? J
          : never
        : S extends 204
          ? undefined
          : never;
    }[keyof R]
  : never;

export class ApiProblem extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
}

/** One typed call: the path's parameters, the body and the answer all come from the document. */
export async function call<P extends keyof paths, M extends Method>(
  base: string,
  path: P,
  method: M,
  input: Input<Op<P, M>>,
): Promise<Ok<Op<P, M>>> {
  const given = input as {
    path?: Record<string, string>;
    query?: Record<string, string | number | boolean | null | undefined>;
    header?: Record<string, string | null | undefined>;
    body?: unknown;
    token?: string;
  };
  let url = String(path).replace(/\\{(\\w+)\\}/g, (_, name: string) => encodeURIComponent(given.path?.[name] ?? ""));
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(given.query ?? {})) {
    if (value !== undefined && value !== null) query.set(key, String(value));
  }
  if (query.toString()) url += `?${query}`;
  const headers: Record<string, string> = { "content-type": "application/json" };
  for (const [key, value] of Object.entries(given.header ?? {})) if (value) headers[key] = value;
  if (given.token) headers.authorization = `Bearer ${given.token}`;
  const response = await fetch(base + url, {
    method: method.toUpperCase(),
    headers,
    body: given.body === undefined ? undefined : JSON.stringify(given.body),
  });
  if (!response.ok) throw new ApiProblem((await response.json()) as Problem);
  return (response.status === 204 ? undefined : await response.json()) as Ok<Op<P, M>>;
}

export async function tour(base: string): Promise<string[]> {
  const seen: string[] = [];
  // 1. register (public)
  const user = await call(base, "/api/v1/auth/register", "post", {
    body: { email: "ada@example.com", password: "correct horse battery", full_name: "Ada", role: "patient" },
  });
  seen.push(user.id);
  // 2. login (public): the token is a string
  const signedIn = await call(base, "/api/v1/auth/login", "post", {
    body: { email: "ada@example.com", password: "correct horse battery" },
  });
  const token: string = signedIn.access_token;
  // 3. the signed-in user
  const me = await call(base, "/api/v1/users/me", "get", { token });
  const email: string = me.email;
  seen.push(email);
  // 4. the doctor directory, with query parameters
  const doctors = await call(base, "/api/v1/doctors", "get", { token, query: { q: "house", limit: 5 } });
  const doctorId: string = doctors.items[0]?.id ?? "";
  // 5. free slots: a path parameter and a time range
  const slots = await call(base, "/api/v1/doctors/{doctor_id}/slots", "get", {
    token,
    path: { doctor_id: doctorId },
    query: { from: "2030-05-01T00:00:00Z", to: "2030-05-02T00:00:00Z" },
  });
  const startsAt: string = slots.slots[0]?.starts_at ?? "";
  // 6. book with an Idempotency-Key header
  const booked = await call(base, "/api/v1/appointments", "post", {
    token,
    header: { "Idempotency-Key": "booking-1" },
    body: { doctor_id: doctorId, starts_at: startsAt, reason: "cough" },
  });
  seen.push(booked.status);
  // 7. my appointments, filtered
  const page = await call(base, "/api/v1/appointments", "get", { token, query: { scope: "upcoming" } });
  seen.push(String(page.items.length));
  // 8. cancel, with its optional body
  const cancelled = await call(base, "/api/v1/appointments/{appointment_id}/cancel", "post", {
    token,
    path: { appointment_id: booked.id },
    body: { reason: "better" },
  });
  seen.push(cancelled.status);
  // 9. notes with If-Match
  const notes = await call(base, "/api/v1/consultations/{consultation_id}/notes", "put", {
    token,
    path: { consultation_id: booked.id },
    header: { "If-Match": '"0"' },
    body: { text: "dry cough" },
  });
  const version: number = notes.version;
  seen.push(String(version));
  // 10. a bot's client credentials
  const bot = await call(base, "/api/v1/auth/token", "post", {
    body: { grant_type: "client_credentials", client_id: "bot", client_secret: "secret" },
  });
  seen.push(bot.token_type);
  // 11. mark a notification read (a 200 with a body)
  const read = await call(base, "/api/v1/notifications/{notification_id}/read", "post", {
    token,
    path: { notification_id: "n1" },
  });
  seen.push(read.id);
  return seen;
}

// The errors are typed as the Problem the server sends, per status and operation.
type LoginUnauthorized = operations["auth_login"]["responses"][401]["content"]["application/problem+json"];
type BookingConflict = operations["appointments_create"]["responses"][409]["content"]["application/problem+json"];
export function describe(problem: LoginUnauthorized | BookingConflict): string {
  const fields = (problem.errors ?? []).map((error) => `${error.field}: ${error.message}`);
  return `${problem.status} ${problem.code} ${problem.request_id} ${fields.join(", ")}`;
}

// The operationIds are the clean ones, and each is an operation of its path.
const sameLogin: operations["auth_login"] = {} as NonNullable<paths["/api/v1/auth/login"]["post"]>;
const sameBooking: operations["appointments_create"] = {} as NonNullable<paths["/api/v1/appointments"]["post"]>;
export const ids = [sameLogin, sameBooking];
"""

# Each breaks the client in one way the document forbids.
WRONG = {
    "a field the body does not have": ('full_name: "Ada", role: "patient"', 'full_name: "Ada", role: "nurse"'),
    "a header the operation does not declare": ('"Idempotency-Key": "booking-1"', '"Idempotency-Kee": "booking-1"'),
    "a missing path parameter": ("path: { appointment_id: booked.id },", ""),
    "a field the answer does not have": ("signedIn.access_token;", "signedIn.accessToken;"),
    "a status the operation does not answer": ('["responses"][401]', '["responses"][402]'),
}

TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "noEmit": True,
        "target": "ES2022",
        "module": "ESNext",
        "moduleResolution": "Bundler",
        "lib": ["ES2022", "DOM"],
        "skipLibCheck": True,
        "types": [],
    },
    "files": ["client.ts"],
}


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, env=env, check=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, sqlite_url: str) -> Path:
    """A folder with the served document and the types openapi-typescript made from it."""
    if not (GENERATOR.exists() and TSC.exists()) or shutil.which("node") is None:
        reason = "web/node_modules is missing openapi-typescript or typescript: run `cd web && npm ci`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    import asyncio

    async def fetch() -> bytes:
        async with app_client(make_settings(sqlite_url, enable_test_routes=False)) as http:
            response = await http.get("/schema/openapi.json")
            assert response.status_code == 200
            return response.content

    folder = tmp_path_factory.mktemp("ts-client")
    (folder / "openapi.json").write_bytes(asyncio.run(fetch()))
    made = _run([str(GENERATOR), "openapi.json", "-o", "api.ts"], folder)
    assert made.returncode == 0, made.stdout + made.stderr
    (folder / "tsconfig.json").write_text(json.dumps(TSCONFIG), encoding="utf-8")
    return folder


def _typecheck(folder: Path, source: str) -> subprocess.CompletedProcess[str]:
    (folder / "client.ts").write_text(source, encoding="utf-8")
    return _run([str(TSC), "-p", "tsconfig.json"], folder)


def test_a_client_generated_from_the_served_document_type_checks_ten_operations(generated: Path) -> None:
    checked = _typecheck(generated, CLIENT)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("mistake", sorted(WRONG))
def test_the_generated_types_refuse_a_call_the_document_does_not_allow(generated: Path, mistake: str) -> None:
    old, new = WRONG[mistake]
    assert old in CLIENT
    checked = _typecheck(generated, CLIENT.replace(old, new, 1))
    assert checked.returncode != 0, f"tsc accepted {mistake}"
