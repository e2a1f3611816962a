/**
 * The hub's socket: one WebSocket per tab, `hello` and `welcome`, heartbeats, and reconnecting
 * with exponential backoff and jitter (on 4401 the access token is refreshed first; a renewed
 * token is forwarded with a `refresh` frame). It knows nothing of rooms: frames go to its owner.
 */
import { getAccessToken, getSession, onTokenChange, refreshSession, restoreSession, subscribeSession } from "../api";
import { parseServerFrame, type ClientFrame, type Person, type ServerFrame, type WelcomeFrame } from "./frames";
import { t } from "../i18n";

export type ConnectionState = "idle" | "connecting" | "open" | "reconnecting" | "offline" | "ended";

export interface ConnectionSnapshot {
  state: ConnectionState;
  me: Person | null;
  /** When the next reconnect attempt happens (epoch ms), while reconnecting. */
  retryAt: number | null;
  error: string | null;
}

/** What the transport tells its owner. */
export interface TransportEvents {
  /** A frame other than `ping` (answered here); `welcome` comes after the connection is open. */
  frame(frame: ServerFrame): void;
  /** The socket is gone (a reconnect may follow). */
  closed(): void;
  /** The session ended in this tab. */
  signedOut(): void;
}

const CLIENT_NAME = "web/1.0";
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 15_000;
const DEFAULT_HEARTBEAT_MS = 25_000;

export class HubTransport {
  private ws: WebSocket | null = null;
  private welcomed = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private heartbeatMs = DEFAULT_HEARTBEAT_MS;
  private lastFrameAt = 0;
  private connection: ConnectionSnapshot = { state: "idle", me: null, retryAt: null, error: null };
  private connectionListeners = new Set<() => void>();
  private started = false;
  private connecting = false;

  constructor(private readonly events: TransportEvents) {}

  /** The socket frames were last sent on (an outbox entry remembers it to resend after a reconnect). */
  get socket(): WebSocket | null {
    return this.ws;
  }

  /** Welcomed on the current socket: rooms may be joined. */
  get isWelcomed(): boolean {
    return this.welcomed;
  }

  /** Open the socket unless it is open or a reconnect is already scheduled. */
  ensureOpen(): void {
    this.start();
    if (!this.ws && !this.reconnectTimer) void this.connect();
  }

  private start(): void {
    if (this.started || typeof window === "undefined") return;
    this.started = true;
    onTokenChange((token) => {
      if (this.ws && this.welcomed) this.send({ type: "refresh", token });
    });
    subscribeSession(() => {
      if (getSession().status === "anonymous") this.events.signedOut();
    });
    window.addEventListener("online", () => {
      if (this.connection.state === "offline" || this.connection.state === "reconnecting") this.resync();
    });
    window.addEventListener("offline", () => {
      if (this.connection.state === "ended" || this.connection.state === "idle") return;
      // Nothing can be sent or heard: let go of the socket now (the rooms show everyone as
      // offline) rather than trust it until a heartbeat times out.
      this.release();
      if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.setConnection({ state: "offline", retryAt: null });
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.connection.state === "reconnecting") this.reconnectNow();
    });
  }

  private async connect(): Promise<void> {
    if (this.ws || this.connecting || typeof window === "undefined") return;
    this.connecting = true;
    try {
      await this.open();
    } finally {
      this.connecting = false;
    }
  }

  private async open(): Promise<void> {
    this.setConnection({ state: this.attempt === 0 ? "connecting" : "reconnecting", retryAt: null });
    let token = getAccessToken();
    if (!token) {
      await restoreSession();
      token = getAccessToken();
    }
    if (!token) {
      this.setConnection({ state: "ended", error: t().hub.signInToConnect });
      return;
    }
    if (this.ws) return;
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    let ws: WebSocket;
    try {
      ws = new WebSocket(`${scheme}://${window.location.host}/ws`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.welcomed = false;
    ws.onopen = () => {
      this.lastFrameAt = Date.now();
      const current = getAccessToken() ?? token;
      ws.send(JSON.stringify({ type: "hello", token: current, client: CLIENT_NAME } satisfies ClientFrame));
    };
    ws.onmessage = (event: MessageEvent) => {
      if (ws !== this.ws) return;
      this.lastFrameAt = Date.now();
      if (typeof event.data !== "string") return;
      const frame = parseServerFrame(event.data);
      if (frame) this.receive(frame);
    };
    ws.onclose = (event: CloseEvent) => {
      if (ws !== this.ws) return;
      this.onClosed(event.code, event.reason);
    };
  }

  private receive(frame: ServerFrame): void {
    if (frame.type === "ping") {
      this.send({ type: "pong" });
      return;
    }
    if (frame.type === "welcome") this.onWelcome(frame);
    this.events.frame(frame);
  }

  private onWelcome(frame: WelcomeFrame): void {
    this.welcomed = true;
    this.attempt = 0;
    const user = frame.user as Person | undefined;
    const heartbeat = Number(frame.heartbeat_s);
    this.heartbeatMs = Number.isFinite(heartbeat) && heartbeat > 0 ? heartbeat * 1000 : DEFAULT_HEARTBEAT_MS;
    this.setConnection({ state: "open", me: user ?? null, retryAt: null, error: null });
    this.startPing();
  }

  private onClosed(code: number, reason: string): void {
    this.ws = null;
    this.welcomed = false;
    this.stopPing();
    this.events.closed();
    if (code === 4401) {
      // The token expired or was revoked: renew it, then reconnect (or end if the session ended).
      this.setConnection({ state: "reconnecting", retryAt: null });
      refreshSession()
        .then((token) => {
          if (token) this.scheduleReconnect(this.attempt === 0);
          else this.setConnection({ state: "ended", error: t().problems.byStatus[401] });
        })
        .catch(() => this.scheduleReconnect());
      return;
    }
    if (code === 4403) {
      this.setConnection({ state: "ended", error: t().hub.accountDisabled });
      return;
    }
    if (this.connection.state === "ended" || this.connection.state === "idle") return;
    this.setConnection({ error: reason || null });
    this.scheduleReconnect();
  }

  private scheduleReconnect(immediate = false): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (typeof navigator !== "undefined" && navigator.onLine === false) {
      this.setConnection({ state: "offline", retryAt: null });
      return;
    }
    this.attempt += 1;
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (this.attempt - 1));
    // "Equal jitter": at least half the ceiling, so a restarting server is not stampeded.
    const delay = immediate ? 0 : ceiling / 2 + Math.random() * (ceiling / 2);
    this.setConnection({ state: "reconnecting", retryAt: Date.now() + delay });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
  }

  /**
   * The network is back. A socket that outlived the outage may be dead without the browser
   * knowing, and the rooms missed presence and messages meanwhile: replace it with a fresh one
   * (a new `welcome` makes the state "open" again and every room re-joins with `since`).
   */
  private resync(): void {
    this.release();
    this.attempt = 0;
    this.reconnectNow();
  }

  /** Forget the current socket without waiting for its close event (which may never come). */
  private release(): void {
    const stale = this.ws;
    if (!stale) return;
    this.ws = null;
    this.welcomed = false;
    this.stopPing();
    stale.onclose = null;
    stale.onmessage = null;
    try {
      stale.close(4000, "network changed");
    } catch {
      // Already closing: nothing more to release.
    }
    this.events.closed();
  }

  private reconnectNow(): void {
    if (this.ws) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    void this.connect();
  }

  /** Close the socket and stop reconnecting (sign-out). */
  shutdown(reason: string | null): void {
    this.setConnection({ state: "idle", me: null, retryAt: null, error: reason });
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.stopPing();
    const ws = this.ws;
    this.ws = null;
    this.welcomed = false;
    this.attempt = 0;
    ws?.close(1000, "bye");
  }

  /** Drop the socket as a network failure would. */
  drop(): void {
    this.ws?.close(4000, "dropped by the client");
  }

  /** Send a frame if the socket is open; false when it could not go out. */
  send(frame: ClientFrame): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  // ----- heartbeats ----------------------------------------------------------------------

  private startPing(): void {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastFrameAt > 2 * this.heartbeatMs + 5_000) {
        // Nothing heard for too long: the connection is dead even if the browser has not noticed.
        this.ws?.close(4000, "heartbeat timeout");
        return;
      }
      this.send({ type: "ping" });
    }, this.heartbeatMs);
  }

  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  // ----- connection snapshot -------------------------------------------------------------

  setConnection(patch: Partial<ConnectionSnapshot>): void {
    this.connection = { ...this.connection, ...patch };
    for (const listener of this.connectionListeners) listener();
  }

  connectionSnapshot(): ConnectionSnapshot {
    return this.connection;
  }

  subscribeConnection(listener: () => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }
}
