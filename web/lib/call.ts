/**
 * A video call between the doctor and the patient (docs/video.md): WebRTC media, signalled
 * through the hub's `signal` frames (PROTOCOL.md 1.1), relayed by TURN when direct paths fail.
 *
 * Call flow: the caller sends `ring {call}`; the callee answers `ring {call, accept: true}` (the
 * server stores "Video call started") or `hangup {call, reason: "declined"}`. Both sides then
 * open an RTCPeerConnection with their tracks and negotiate with the W3C "perfect negotiation"
 * pattern (the patient is polite, the doctor impolite), so offers crossing each other cannot
 * wedge the signalling; the caller's offer alone opens each connection and the caller makes the
 * ICE restarts, so they do not cross in the first place (issue 19: a polite rollback of a fresh
 * offer can leave Chromium gathering no candidate). A dropped network is answered with an ICE
 * restart, a connection that still does not connect is replaced; a reload resumes the call
 * (`ring {call, resume: true}` / `{resumed: true}`, the call kept in sessionStorage). Either side's
 * `hangup {call}` ends it (the server stores "Video call ended (N min)").
 */
import { api, paths } from "./api";
import type { components } from "./api-types";
import { getHub, type Person, type SignalFrame, type SignalKind } from "./hub";
import { t } from "./i18n";

export type CallPhase = "idle" | "calling" | "ringing" | "connecting" | "connected" | "reconnecting";
export type Quality = "good" | "fair" | "poor";

export interface CallSnapshot {
  phase: CallPhase;
  callId: string | null;
  peer: Person | null;
  localStream: MediaStream | null;
  remoteStream: MediaStream | null;
  muted: boolean;
  cameraOff: boolean;
  /** No camera, or video paused because the network is poor. */
  audioOnly: boolean;
  canSwitchCamera: boolean;
  quality: Quality | null;
  /** What the person should know: permission denied, no device, the other side gone... */
  message: string | null;
  /** From getStats(): inbound video frames decoded, and the selected local candidate's type. */
  framesDecoded: number;
  candidateType: string | null;
  /** The connection's signaling and ICE states, for support and the tests. */
  signalingState: string;
  iceState: string;
}

/** `GET /consultations/{id}/ice-servers` (API.md 1.1 "Video visits"). */
type IceServersOut = components["schemas"]["IceServers"];

const RING_TIMEOUT_MS = 45_000;
const RESUME_TIMEOUT_MS = 12_000;
const PEER_GONE_MS = 15_000;
const DISCONNECTED_RESTART_MS = 2_500;
const STATS_EVERY_MS = 2_000;
const CONNECT_WATCHDOG_MS = 10_000;
/** How long the polite side waits for the caller's ICE restart before making its own. */
const POLITE_RESTART_MS = 6_000;
/** Set to "relay" in localStorage to force TURN (how an operator checks the relay works). */
export const RELAY_SETTING = "careconnect.iceTransportPolicy";
/** Set to "1" in localStorage to log the call's signalling and ICE to the console (support, tests). */
export const DEBUG_SETTING = "careconnect.debugCall";

function debugEnabled(): boolean {
  try {
    return localStorage.getItem(DEBUG_SETTING) === "1";
  } catch {
    return false;
  }
}

/** A one-line summary of a candidate for the debug log: type, protocol, address, ufrag. */
function describeCandidate(candidate: RTCIceCandidateInit | null | undefined): string {
  if (!candidate) return "end-of-candidates";
  if (!candidate.candidate) return `end-of-candidates(mid ${candidate.sdpMid ?? "?"})`;
  const parts = candidate.candidate.split(" ");
  const ufrag = candidate.usernameFragment ?? /ufrag (\S+)/.exec(candidate.candidate)?.[1] ?? "?";
  return `${parts[7] ?? "?"} ${parts[2] ?? "?"} ${parts[4] ?? "?"}:${parts[5] ?? "?"} ufrag=${ufrag} mid=${candidate.sdpMid ?? "?"}`;
}

const IDLE: CallSnapshot = {
  phase: "idle",
  callId: null,
  peer: null,
  localStream: null,
  remoteStream: null,
  muted: false,
  cameraOff: false,
  audioOnly: false,
  canSwitchCamera: false,
  quality: null,
  message: null,
  framesDecoded: 0,
  candidateType: null,
  signalingState: "",
  iceState: "",
};

export class CallError extends Error {}

function isConnected(pc: RTCPeerConnection): boolean {
  return pc.iceConnectionState === "connected" || pc.iceConnectionState === "completed";
}

/** Camera and microphone, or the microphone alone when there is no camera; clear words otherwise. */
export async function openMedia(): Promise<{ stream: MediaStream; audioOnly: boolean }> {
  if (typeof navigator === "undefined" || !navigator.mediaDevices?.getUserMedia) {
    throw new CallError(t().call.needsSecurePage);
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { facingMode: "user" } });
    return { stream, audioOnly: false };
  } catch (error) {
    const name = error instanceof DOMException ? error.name : "";
    if (name === "NotAllowedError" || name === "SecurityError") {
      throw new CallError(
        t().call.accessDenied,
      );
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      return { stream, audioOnly: true };
    } catch {
      throw new CallError(t().call.noDevices);
    }
  }
}

function newCallId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

interface Saved {
  call: string;
  peer: Person;
}

function storageKey(room: string): string {
  return `careconnect.call:${room}`;
}

function loadSaved(room: string): Saved | null {
  try {
    const raw = sessionStorage.getItem(storageKey(room));
    const saved = raw ? (JSON.parse(raw) as Saved) : null;
    return saved && typeof saved.call === "string" && saved.peer && typeof saved.peer.id === "string" ? saved : null;
  } catch {
    return null;
  }
}

export class CallController {
  private snap: CallSnapshot = IDLE;
  private listeners = new Set<() => void>();
  private pc: RTCPeerConnection | null = null;
  private connecting: Promise<void> | null = null;
  private makingOffer = false;
  private ignoreOffer = false;
  private settingRemoteAnswer = false;
  private queue: Promise<void> = Promise.resolve();
  private timers = new Map<string, ReturnType<typeof setTimeout>>();
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private poorInARow = 0;
  private lastLoss = { lost: 0, received: 0 };
  private videoTrack: MediaStreamTrack | null = null;
  private unsubscribe: Array<() => void> = [];
  private readonly debugging = debugEnabled();

  constructor(
    private readonly room: string,
    private readonly consultationId: string,
    private readonly polite: boolean,
  ) {
    const hub = getHub();
    this.unsubscribe.push(
      hub.onSignal((frame) => {
        if (frame.room === this.room) this.queue = this.queue.then(() => this.onSignal(frame)).catch(() => undefined);
      }),
      hub.onSignalError((room, code, message) => {
        if (room === this.room) this.onRefused(code, message);
      }),
    );
  }

  // ----- for React ------------------------------------------------------------------------

  snapshot = (): CallSnapshot => this.snap;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private debug(...parts: unknown[]): void {
    if (this.debugging) console.debug(`[call ${this.polite ? "polite" : "impolite"}]`, ...parts);
  }

  private set(patch: Partial<CallSnapshot>): void {
    this.snap = { ...this.snap, ...patch };
    for (const listener of this.listeners) listener();
  }

  dispose(): void {
    for (const off of this.unsubscribe) off();
    this.teardown(false);
  }

  // ----- actions --------------------------------------------------------------------------

  /** Call ``peer`` (the doctor calls the patient). */
  async start(peer: Person): Promise<void> {
    if (this.snap.phase !== "idle") return;
    const callId = newCallId();
    this.set({ ...IDLE, phase: "calling", callId, peer, message: null });
    if (!(await this.withMedia())) return;
    this.signal("ring", { video: !this.snap.audioOnly });
    this.after("ring", RING_TIMEOUT_MS, () => {
      if (this.snap.phase === "calling") this.end(`${peer.name} did not answer.`, "no_answer");
    });
  }

  /** Accept the ringing call. */
  async accept(): Promise<void> {
    if (this.snap.phase !== "ringing") return;
    const resume = this.resumeRing;
    this.set({ phase: "connecting", message: null });
    if (!(await this.withMedia())) return;
    this.signal("ring", resume ? { resumed: true } : { accept: true });
    this.save();
    await this.connect();
  }

  decline(): void {
    if (this.snap.phase !== "ringing") return;
    this.signal("hangup", { reason: "declined" });
    this.teardown(true);
  }

  hangup(): void {
    if (this.snap.phase === "idle") return;
    this.signal("hangup", { reason: "hangup" });
    this.teardown(true);
  }

  /** After a reload: pick the saved call back up, if the other side is still in it. */
  async resume(): Promise<void> {
    const saved = loadSaved(this.room);
    if (!saved || this.snap.phase !== "idle") return;
    this.set({ ...IDLE, phase: "connecting", callId: saved.call, peer: saved.peer, message: t().call.rejoining });
    if (!(await this.withMedia())) return;
    this.signal("ring", { resume: true });
    this.after("resume", RESUME_TIMEOUT_MS, () => {
      if (this.snap.phase === "connecting" && !this.pc) this.end(t().call.couldNotResume, null);
    });
  }

  toggleMute(): void {
    const stream = this.snap.localStream;
    if (!stream) return;
    const muted = !this.snap.muted;
    for (const track of stream.getAudioTracks()) track.enabled = !muted;
    this.set({ muted });
  }

  async toggleCamera(): Promise<void> {
    const track = this.videoTrack;
    if (!track) return;
    const cameraOff = !(this.snap.cameraOff || this.snap.audioOnly);
    track.enabled = !cameraOff;
    const sender = this.videoSender();
    if (sender) await sender.replaceTrack(cameraOff ? null : track).catch(() => undefined);
    this.poorInARow = 0;
    this.set({ cameraOff, audioOnly: false, message: null });
  }

  /** The next camera (front / back on a phone). */
  async switchCamera(): Promise<void> {
    const current = this.videoTrack;
    if (!current || !navigator.mediaDevices?.enumerateDevices) return;
    const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
    if (cameras.length < 2) return;
    const at = cameras.findIndex((d) => d.deviceId === current.getSettings().deviceId);
    const next = cameras[(at + 1) % cameras.length];
    if (!next) return;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { deviceId: { exact: next.deviceId } } });
      const track = stream.getVideoTracks()[0];
      if (!track) return;
      await this.videoSender()?.replaceTrack(track);
      const local = this.snap.localStream;
      if (local) {
        local.removeTrack(current);
        local.addTrack(track);
      }
      current.stop();
      this.videoTrack = track;
      this.set({ localStream: local ? new MediaStream(local.getTracks()) : stream, cameraOff: false });
    } catch {
      this.set({ message: t().call.cameraFailed });
    }
  }

  /** The room's presence: the other side dropped off (or came back). */
  peerPresence(online: boolean): void {
    if (this.snap.phase === "idle" || this.snap.phase === "ringing") return;
    if (online) {
      this.clear("gone");
      return;
    }
    if (this.timers.has("gone")) return;
    this.after("gone", PEER_GONE_MS, () => {
      const name = this.snap.peer?.name ?? t().call.otherSide;
      this.end(t().call.left(name), null);
    });
  }

  // ----- signalling -----------------------------------------------------------------------

  private resumeRing = false;

  private signal(kind: SignalKind, data: Record<string, unknown>): void {
    const { peer, callId } = this.snap;
    if (!peer || !callId) {
      this.debug("not sent (no call)", kind);
      return;
    }
    if (kind !== "ice") this.debug("sent", kind, JSON.stringify({ ...data, description: undefined }));
    if (!getHub().signal(this.room, peer.id, kind, { ...data, call: callId })) {
      this.debug("not sent (offline)", kind);
      this.set({ message: t().call.offline });
    }
  }

  private onRefused(code: string, message: string): void {
    this.debug("refused", code, message);
    if (this.snap.phase === "idle") return;
    if (code === "not_found") {
      const name = this.snap.peer?.name ?? t().call.otherSide;
      if (this.snap.phase === "calling" || (this.snap.phase === "connecting" && !this.pc)) {
        this.end(t().call.notHere(name), null);
      }
      return;
    }
    if (code === "room_closed") {
      this.end(t().call.visitEnded, null);
      return;
    }
    this.set({ message });
  }

  private async onSignal(frame: SignalFrame): Promise<void> {
    const data = frame.data ?? {};
    const call = typeof data.call === "string" ? data.call : null;
    if (!call) return;
    const mine = call === this.snap.callId;
    this.debug(
      "received",
      frame.kind,
      frame.kind === "ice" ? describeCandidate(data.candidate as RTCIceCandidateInit | null) : JSON.stringify({ ...data, description: undefined }),
      `mine=${mine} phase=${this.snap.phase} pc=${this.pc ? this.pc.signalingState : "none"} connecting=${this.connecting !== null}`,
    );
    if (frame.kind === "ring") {
      if (data.accept === true || data.resumed === true) {
        if (mine && (this.snap.phase === "calling" || this.snap.phase === "connecting")) {
          this.clear("ring");
          this.clear("resume");
          this.set({ phase: "connecting", message: null });
          this.save();
          if (!this.pc) await this.connect();
        }
        return;
      }
      if (data.resume === true && mine && this.snap.phase !== "idle" && this.snap.phase !== "ringing") {
        // The other side reloaded: a fresh connection, the same call.
        this.closePeer();
        this.set({ phase: "connecting", remoteStream: null, message: null });
        this.signal("ring", { resumed: true });
        await this.connect();
        return;
      }
      if (this.snap.phase === "idle") {
        this.resumeRing = data.resume === true;
        this.set({ ...IDLE, phase: "ringing", callId: call, peer: frame.from });
        this.after("ring", RING_TIMEOUT_MS, () => {
          if (this.snap.phase === "ringing") this.teardown(true);
        });
      } else if (!mine) {
        getHub().signal(this.room, frame.from.id, "hangup", { call, reason: "busy" });
      }
      return;
    }
    if (!mine) return;
    if (frame.kind === "hangup") {
      const name = frame.from.name;
      const reason = data.reason;
      this.teardown(true);
      this.set({
        message:
          reason === "declined"
            ? t().call.declined(name)
            : reason === "busy"
              ? t().call.busy(name)
              : reason === "no_answer"
                ? t().call.missed(name)
                : t().call.ended(name),
      });
      return;
    }
    if (!this.pc && this.connecting) await this.connecting;
    const pc = this.pc;
    if (!pc) {
      this.debug("dropped", frame.kind, "(no peer connection)");
      return;
    }
    if (frame.kind === "offer" || frame.kind === "answer") {
      const description = data.description as RTCSessionDescriptionInit | undefined;
      if (!description || typeof description.type !== "string") return;
      // Perfect negotiation (W3C): the impolite side ignores a colliding offer, the polite one yields.
      const readyForOffer = !this.makingOffer && (pc.signalingState === "stable" || this.settingRemoteAnswer);
      const collision = description.type === "offer" && !readyForOffer;
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) {
        this.debug("ignored a colliding offer");
        return;
      }
      this.settingRemoteAnswer = description.type === "answer";
      try {
        await pc.setRemoteDescription(description);
        this.debug("remote description set:", description.type, `signaling=${pc.signalingState}`);
      } catch (error) {
        this.debug("setRemoteDescription failed:", description.type, String(error));
        throw error;
      } finally {
        this.settingRemoteAnswer = false;
      }
      if (description.type === "offer") {
        await pc.setLocalDescription();
        this.debug("answer made", `signaling=${pc.signalingState}`);
        this.signal("answer", { description: pc.localDescription?.toJSON() });
      }
      return;
    }
    if (frame.kind === "ice") {
      const candidate = data.candidate as RTCIceCandidateInit | null | undefined;
      try {
        await pc.addIceCandidate(candidate ?? undefined);
        this.debug("added", describeCandidate(candidate));
      } catch (error) {
        this.debug("addIceCandidate failed:", describeCandidate(candidate), String(error), `ignoreOffer=${this.ignoreOffer}`);
        if (!this.ignoreOffer) throw error;
      }
    }
  }

  // ----- the connection -------------------------------------------------------------------

  private async withMedia(): Promise<boolean> {
    if (this.snap.localStream) return true;
    try {
      const { stream, audioOnly } = await openMedia();
      if (this.snap.phase === "idle") {
        for (const track of stream.getTracks()) track.stop();
        return false;
      }
      this.videoTrack = stream.getVideoTracks()[0] ?? null;
      const cameras = navigator.mediaDevices.enumerateDevices
        ? (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput").length
        : 0;
      this.set({
        localStream: stream,
        audioOnly,
        canSwitchCamera: cameras > 1,
        message: audioOnly ? t().call.audioOnly : this.snap.message,
      });
      return true;
    } catch (error) {
      const message = error instanceof CallError ? error.message : t().call.devicesFailed;
      const ringing = this.snap.phase === "ringing" || this.snap.phase === "connecting";
      if (ringing && this.snap.peer) this.signal("hangup", { reason: "declined" });
      this.teardown(true);
      this.set({ message });
      return false;
    }
  }

  private async iceConfig(): Promise<RTCConfiguration> {
    let servers: IceServersOut["ice_servers"] = [];
    for (const wait of [0, 500, 1500]) {
      // A busy server (503) must not leave the call without its TURN servers: a few tries.
      if (wait) await new Promise((resolve) => setTimeout(resolve, wait));
      try {
        servers = (await api.get<IceServersOut>(paths.consultationIceServers(this.consultationId))).ice_servers;
        break;
      } catch {
        servers = []; // at the last, direct paths only: loopback and most home networks still connect
      }
    }
    let relay = false;
    try {
      relay = localStorage.getItem(RELAY_SETTING) === "relay";
    } catch {
      relay = false;
    }
    const iceServers: RTCIceServer[] = servers.map((s) => ({
      urls: s.urls,
      ...(s.username ? { username: s.username } : {}),
      ...(s.credential ? { credential: s.credential } : {}),
    }));
    return { iceServers, iceTransportPolicy: relay ? "relay" : "all" };
  }

  /** Open the peer connection; signals that arrive meanwhile wait for it (``onSignal``). */
  private connect(): Promise<void> {
    if (!this.connecting) this.connecting = this.open();
    return this.connecting;
  }

  private async open(): Promise<void> {
    const config = await this.iceConfig();
    if (this.snap.phase === "idle" || this.pc) return;
    const pc = new RTCPeerConnection(config);
    this.pc = pc;
    this.debug("peer connection made", JSON.stringify({ servers: config.iceServers?.map((s) => s.urls), policy: config.iceTransportPolicy }));
    const local = this.snap.localStream;
    if (local) for (const track of local.getTracks()) pc.addTrack(track, local);
    pc.ontrack = ({ track, streams }) => {
      const stream = streams[0] ?? new MediaStream([track]);
      this.set({ remoteStream: stream });
    };
    pc.onicecandidate = ({ candidate }) => {
      this.debug("gathered, sent", describeCandidate(candidate?.toJSON()));
      this.signal("ice", { candidate: candidate ? candidate.toJSON() : null });
    };
    pc.onicecandidateerror = (event) => {
      const e = event as RTCPeerConnectionIceErrorEvent;
      this.debug("candidate error", e.url, e.errorCode, e.errorText);
    };
    pc.onicegatheringstatechange = () => this.debug("gathering", pc.iceGatheringState);
    pc.onnegotiationneeded = async () => {
      if (this.polite && pc.remoteDescription === null) {
        // The caller's offer opens the call (issue 19, docs/video.md): an offer of ours would
        // cross it, and the rollback that settles the glare can leave Chromium's ICE agent
        // gathering nothing for the answer. Our tracks ride in the answer; anything the
        // caller's offer left out fires negotiationneeded again once it is stable.
        this.debug("negotiationneeded deferred: the caller offers first");
        return;
      }
      try {
        this.makingOffer = true;
        this.debug("negotiationneeded", `signaling=${pc.signalingState}`);
        await pc.setLocalDescription();
        this.debug("offer made", `signaling=${pc.signalingState}`);
        this.signal("offer", { description: pc.localDescription?.toJSON() });
      } catch (error) {
        this.debug("offer failed", String(error));
        // the next negotiationneeded (or the other side's offer) settles it
      } finally {
        this.makingOffer = false;
      }
    };
    pc.onsignalingstatechange = () => {
      this.debug("signaling", pc.signalingState);
      if (this.pc === pc) this.set({ signalingState: pc.signalingState });
    };
    pc.oniceconnectionstatechange = () => {
      if (this.pc !== pc) return;
      const state = pc.iceConnectionState;
      this.debug("ice", state);
      this.set({ iceState: state });
      if (state === "connected" || state === "completed") {
        this.clear("restart");
        this.clear("polite-restart");
        this.set({ phase: "connected", message: null });
      } else if (state === "failed") {
        this.set({ phase: "reconnecting", message: t().call.reconnecting });
        this.restartIce(pc);
      } else if (state === "disconnected") {
        this.set({ phase: "reconnecting", message: t().call.reconnecting });
        this.after("restart", DISCONNECTED_RESTART_MS, () => {
          if (this.pc === pc && !isConnected(pc)) this.restartIce(pc);
        });
      }
    };
    this.startStats(pc);
    this.watch(pc);
  }

  /** Not connected within a while (a lost signal, a relay not reached): fresh servers, ICE restart. */
  /**
   * An ICE restart, made by the caller (the impolite side): its offer restarts both ends, and two
   * restarts at once would cross (glare, and a rollback; see ``onnegotiationneeded``). The polite
   * side restarts only if the caller's restart has not come (or not connected) a while later.
   */
  private restartIce(pc: RTCPeerConnection): void {
    if (!this.polite) {
      this.debug("ICE restart");
      pc.restartIce();
      return;
    }
    this.after("polite-restart", POLITE_RESTART_MS, () => {
      if (this.pc !== pc || isConnected(pc) || pc.signalingState !== "stable") return;
      this.debug("ICE restart (the caller's did not come)");
      pc.restartIce();
    });
  }

  /**
   * Not connected within a while (a lost signal, a relay not reached): fresh servers and an ICE
   * restart; still not connected after that, a new peer connection on both sides (the resume
   * flow: ``ring {resume}`` / ``{resumed}``), since a connection whose ICE agent gathers nothing
   * is not mended by a restart. The caller acts; the polite side only refreshes its servers.
   */
  private watch(pc: RTCPeerConnection, attempt = 0): void {
    this.after("watchdog", CONNECT_WATCHDOG_MS, () => {
      if (this.pc !== pc || isConnected(pc)) return;
      this.debug("watchdog: not connected", `attempt=${attempt} ice=${pc.iceConnectionState} gathering=${pc.iceGatheringState} signaling=${pc.signalingState}`);
      if (!this.polite && attempt >= 1) {
        this.rebuild();
        return;
      }
      void this.iceConfig().then((config) => {
        if (this.pc !== pc) return;
        try {
          pc.setConfiguration(config);
        } catch (error) {
          this.debug("setConfiguration failed", String(error));
        }
        if (!this.polite) this.restartIce(pc);
        this.watch(pc, attempt + 1);
      });
    });
  }

  /** A new peer connection for the same call, on both sides (the caller's watchdog). */
  private rebuild(): void {
    this.debug("rebuilding the peer connection");
    this.closePeer();
    this.set({ phase: "connecting", remoteStream: null });
    this.signal("ring", { resume: true });
    this.after("resume", RESUME_TIMEOUT_MS, () => {
      if (this.snap.phase === "connecting" && !this.pc) this.end(t().call.couldNotResume, null);
    });
  }

  private videoSender(): RTCRtpSender | undefined {
    return this.pc?.getSenders().find((s) => s.track?.kind === "video" || (s.track === null && this.videoTrack !== null));
  }

  private startStats(pc: RTCPeerConnection): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.lastLoss = { lost: 0, received: 0 };
    this.statsTimer = setInterval(() => void this.readStats(pc), STATS_EVERY_MS);
  }

  private async readStats(pc: RTCPeerConnection): Promise<void> {
    if (this.pc !== pc) return;
    const report = await pc.getStats();
    let framesDecoded = 0;
    let lost = 0;
    let received = 0;
    let pairId: string | null = null;
    report.forEach((r: Record<string, unknown>) => {
      if (r.type === "inbound-rtp") {
        if (r.kind === "video") framesDecoded += Number(r.framesDecoded ?? 0);
        lost += Number(r.packetsLost ?? 0);
        received += Number(r.packetsReceived ?? 0);
      } else if (r.type === "transport" && typeof r.selectedCandidatePairId === "string") {
        pairId = r.selectedCandidatePairId;
      }
    });
    const pair = pairId ? (report.get(pairId) as Record<string, unknown> | undefined) : undefined;
    const localCandidate = pair ? (report.get(String(pair.localCandidateId)) as Record<string, unknown> | undefined) : undefined;
    const rtt = pair && typeof pair.currentRoundTripTime === "number" ? pair.currentRoundTripTime : 0;
    const dLost = lost - this.lastLoss.lost;
    const dReceived = received - this.lastLoss.received;
    this.lastLoss = { lost, received };
    const loss = dLost + dReceived > 0 ? dLost / (dLost + dReceived) : 0;
    const quality: Quality = rtt > 0.4 || loss > 0.08 ? "poor" : rtt > 0.2 || loss > 0.03 ? "fair" : "good";
    this.poorInARow = quality === "poor" ? this.poorInARow + 1 : 0;
    const patch: Partial<CallSnapshot> = {
      quality: pair ? quality : null,
      framesDecoded,
      candidateType: localCandidate ? String(localCandidate.candidateType ?? "") : null,
    };
    if (this.poorInARow >= 3 && !this.snap.audioOnly && !this.snap.cameraOff && this.videoTrack) {
      // Keep the sound going: stop sending video until the person turns the camera back on.
      await this.videoSender()?.replaceTrack(null).catch(() => undefined);
      patch.audioOnly = true;
      patch.message = t().call.poorConnection;
    }
    this.set(patch);
  }

  // ----- ending ---------------------------------------------------------------------------

  private end(message: string, reason: string | null): void {
    if (reason) this.signal("hangup", { reason });
    this.teardown(true);
    this.set({ message });
  }

  private closePeer(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
    const pc = this.pc;
    this.pc = null;
    this.connecting = null;
    this.makingOffer = false;
    this.ignoreOffer = false;
    if (pc) {
      pc.ontrack = null;
      pc.onicecandidate = null;
      pc.onnegotiationneeded = null;
      pc.oniceconnectionstatechange = null;
      pc.onsignalingstatechange = null;
      pc.close();
    }
  }

  private teardown(forget: boolean): void {
    this.closePeer();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const track of this.snap.localStream?.getTracks() ?? []) track.stop();
    this.videoTrack = null;
    this.poorInARow = 0;
    this.resumeRing = false;
    if (forget) {
      try {
        sessionStorage.removeItem(storageKey(this.room));
      } catch {
        // storage unavailable: nothing to forget
      }
    }
    this.set({ ...IDLE });
  }

  private save(): void {
    const { callId, peer } = this.snap;
    if (!callId || !peer) return;
    try {
      sessionStorage.setItem(storageKey(this.room), JSON.stringify({ call: callId, peer } satisfies Saved));
    } catch {
      // storage unavailable: a reload ends the call instead
    }
  }

  private after(name: string, ms: number, run: () => void): void {
    this.clear(name);
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        run();
      }, ms),
    );
  }

  private clear(name: string): void {
    const timer = this.timers.get(name);
    if (timer) clearTimeout(timer);
    this.timers.delete(name);
  }

  /** A saved call for this room (the page was reloaded during it). */
  hasSavedCall(): boolean {
    return loadSaved(this.room) !== null;
  }
}

const controllers = new Map<string, CallController>();

/** The tab's one call controller for a room (made on first use, kept while the tab lives). */
export function callControllerFor(room: string, consultationId: string, polite: boolean): CallController {
  let controller = controllers.get(room);
  if (!controller) {
    controller = new CallController(room, consultationId, polite);
    controllers.set(room, controller);
  }
  return controller;
}
