"use client";

import { useEffect, useRef, useSyncExternalStore, type ReactNode } from "react";

import { callControllerFor, type CallController, type CallSnapshot } from "@/lib/call";
import type { Person } from "@/lib/hub";
import type { RoomHandle } from "@/lib/useHub";

import { buttonClass } from "../ui";
import { useMessages } from "@/lib/i18n";


/**
 * The consultation's video call around its chat: the doctor's call button, the patient's ringing
 * prompt, both videos and the controls; the chat (``children``) sits beside the video on a wide
 * screen and under it on a phone. Calls exist only while the visit is in progress (``live``).
 */
export function VideoCall({
  consultationId,
  room,
  roomName,
  myId,
  isDoctor,
  live,
  children,
}: {
  consultationId: string;
  room: RoomHandle;
  roomName: string | null;
  myId: string;
  isDoctor: boolean;
  live: boolean;
  children: ReactNode;
}) {
  const controller = roomName && live ? callControllerFor(roomName, consultationId, !isDoctor) : null; // the patient is the polite peer
  useEffect(() => {
    if (!controller) return;
    return () => controller.hangup(); // leaving the page (or the visit ending) ends the call
  }, [controller]);

  const call = useSyncExternalStore(
    (listener) => (controller ? controller.subscribe(listener) : () => undefined),
    () => controller?.snapshot() ?? null,
    () => null,
  );

  const members = room.snapshot?.members ?? [];
  const peer = members.find((m) => m.id !== myId && (m.role === "doctor" || m.role === "patient")) ?? null;
  const peerOnline = peer?.online ?? false;
  const joined = room.snapshot?.joined ?? false;

  useEffect(() => {
    controller?.peerPresence(peerOnline);
  }, [controller, peerOnline]);

  // A reload during a call: rejoin it once the room is joined again.
  useEffect(() => {
    if (controller && joined && controller.hasSavedCall()) void controller.resume();
  }, [controller, joined]);

  // The chat (children) keeps its place in the tree whether or not a call can happen, so the
  // patient admitted mid-sentence keeps the message box, its focus and what they typed.
  const shown = live && controller && call ? call : null;
  const active = shown !== null && shown.phase !== "idle";
  return (
    <div className={active ? "grid gap-4 lg:grid-cols-[minmax(0,3fr)_minmax(0,2fr)]" : "flex flex-col gap-3"}>
      {shown && controller ? <CallPanel call={shown} controller={controller} isDoctor={isDoctor} peer={peer} peerOnline={peerOnline} active={active} /> : null}
      <div className="min-w-0">{children}</div>
    </div>
  );
}

function CallPanel({
  call,
  controller,
  isDoctor,
  peer,
  peerOnline,
  active,
}: {
  call: CallSnapshot;
  controller: CallController;
  isDoctor: boolean;
  peer: Person | null;
  peerOnline: boolean;
  active: boolean;
}) {
  const t = useMessages();
  return (
      <section aria-label={t.videoCall.videoCall} className="flex flex-col gap-3" data-testid="video-call" data-phase={call.phase}>
        {call.phase === "idle" ? (
          <IdleBar call={call} isDoctor={isDoctor} peer={peer} peerOnline={peerOnline} onCall={() => peer && void controller.start(peer)} />
        ) : null}
        {call.phase === "ringing" ? (
          <div role="alertdialog" aria-labelledby="ring-title" className="flex flex-wrap items-center gap-3 rounded-md border border-blue-300 bg-blue-50 p-3" data-testid="call-ringing">
            <p id="ring-title" className="font-semibold text-slate-900">
              {call.peer?.name ?? t.videoCall.yourDoctor}{t.videoCall.isCallingYouVideo}
            </p>
            <button type="button" className={buttonClass("primary")} onClick={() => void controller.accept()} data-testid="call-accept">
              {t.videoCall.accept}
            </button>
            <button type="button" className={buttonClass("danger")} onClick={() => controller.decline()} data-testid="call-decline">
              {t.videoCall.decline}
            </button>
          </div>
        ) : null}
        {active && call.phase !== "ringing" ? <CallStage call={call} controller={controller} /> : null}
        {call.message ? (
          <p role="status" className="rounded-md border border-amber-300 bg-amber-50 p-2 text-sm text-amber-950" data-testid="call-message">
            {call.message}
          </p>
        ) : null}
      </section>
  );
}

function IdleBar({
  call,
  isDoctor,
  peer,
  peerOnline,
  onCall,
}: {
  call: CallSnapshot;
  isDoctor: boolean;
  peer: Person | null;
  peerOnline: boolean;
  onCall: () => void;
}) {
  const t = useMessages();
  if (!isDoctor) {
    return call.message ? null : (
      <p className="text-sm text-slate-800" data-testid="call-hint">
        {t.videoCall.yourDoctorCanStart}
      </p>
    );
  }
  return (
    <div className="flex flex-wrap items-center gap-3">
      <button type="button" className={buttonClass("primary")} disabled={!peer || !peerOnline} onClick={onCall} data-testid="call-start">
        {t.videoCall.startVideoCall}
      </button>
      {!peerOnline ? (
        <span className="text-sm text-slate-800" data-testid="call-hint">
          {peer ? t.videoCall.notInConsultation(peer.name) : t.videoCall.waitingForThePatient}
        </span>
      ) : null}
    </div>
  );
}

function CallStage({ call, controller }: { call: CallSnapshot; controller: CallController }) {
  const t = useMessages();
  const name = call.peer?.name ?? t.videoCall.theOtherSide;
  const status =
    call.phase === "calling"
      ? t.videoCall.calling(name)
      : call.phase === "connecting"
        ? t.videoCall.connecting
        : call.phase === "reconnecting"
          ? t.videoCall.reconnecting
          : call.quality
            ? t.videoCall.quality[call.quality]
            : t.videoCall.connected;
  return (
    <div
      className="flex flex-col gap-2"
      data-testid="call-stage"
      data-frames-decoded={call.framesDecoded}
      data-candidate-type={call.candidateType ?? ""}
      data-quality={call.quality ?? ""}
      data-signaling={call.signalingState}
      data-ice={call.iceState}
    >
      <div className="relative overflow-hidden rounded-lg bg-slate-900">
        <Video stream={call.remoteStream} muted={false} label={t.videoCall.videoOf(name)} testId="remote-video" className="aspect-video w-full object-cover" />
        {!call.remoteStream ? <p className="absolute inset-0 flex items-center justify-center text-sm text-white">{status}</p> : null}
        <div className="absolute bottom-2 right-2 w-1/4 min-w-24 overflow-hidden rounded-md border border-white/60 bg-slate-800">
          <Video stream={call.localStream} muted label={t.videoCall.yourCamera} testId="local-video" className="aspect-video w-full -scale-x-100 object-cover" />
        </div>
      </div>
      <p className="text-sm text-slate-800" aria-live="polite" data-testid="call-status">
        {status}
        {call.audioOnly ? t.videoCall.audioOnly : ""}
      </p>
      <div className="flex flex-wrap gap-2" role="group" aria-label={t.videoCall.callControls}>
        <button type="button" className={buttonClass("secondary")} onClick={() => controller.toggleMute()} aria-pressed={call.muted} data-testid="call-mute">
          {call.muted ? t.videoCall.unmute : t.videoCall.mute}
        </button>
        <button
          type="button"
          className={buttonClass("secondary")}
          onClick={() => void controller.toggleCamera()}
          aria-pressed={call.cameraOff || call.audioOnly}
          disabled={!call.localStream?.getVideoTracks().length}
          data-testid="call-camera"
        >
          {call.cameraOff || call.audioOnly ? t.videoCall.turnCameraOn : t.videoCall.turnCameraOff}
        </button>
        {call.canSwitchCamera ? (
          <button type="button" className={buttonClass("secondary")} onClick={() => void controller.switchCamera()} data-testid="call-switch-camera">
            {t.videoCall.switchCamera}
          </button>
        ) : null}
        <button type="button" className={buttonClass("danger")} onClick={() => controller.hangup()} data-testid="call-hangup">
          {call.phase === "calling" ? t.videoCall.cancel : t.videoCall.hangUp}
        </button>
      </div>
    </div>
  );
}

function Video({ stream, muted, label, testId, className }: { stream: MediaStream | null; muted: boolean; label: string; testId: string; className: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const video = ref.current;
    if (video && video.srcObject !== stream) video.srcObject = stream;
  }, [stream]);
  return <video ref={ref} autoPlay playsInline muted={muted} aria-label={label} data-testid={testId} className={className} />;
}
