/**
 * Consumer group answers: domain results to the API's JSON (ISO-8601 times).
 */
import type { CommitResult, GroupDescription, MemberAssignment } from '../domain/group-service.js';
import { isoTime } from './render.js';

export function renderMemberAssignment(assignment: MemberAssignment) {
  return {
    memberId: assignment.memberId,
    generation: assignment.generation,
    assignments: assignment.assignments.map(({ topic, partition }) => ({ topic, partition })),
    sessionTimeoutMs: assignment.sessionTimeoutMs,
  };
}

export function renderCommit(group: string, result: CommitResult) {
  return { group, generation: result.generation, offsets: result.offsets };
}

export function renderGroup(description: GroupDescription) {
  return {
    group: description.group,
    state: description.state,
    generation: description.generation,
    members: description.members.map((member) => ({
      memberId: member.memberId,
      topics: member.topics,
      sessionTimeoutMs: member.sessionTimeoutMs,
      joinedAt: isoTime(member.joinedAt),
      lastHeartbeat: isoTime(member.lastHeartbeat),
      assignments: member.assignments.map(({ topic, partition }) => ({ topic, partition })),
    })),
    offsets: description.offsets,
    createdAt: isoTime(description.createdAt),
  };
}
