/** Creating the allocator's zone (the primary) and opening it (anyone). */
import { dpdkError, lcores, memzoneNameSchema, processType, validate } from '@mp/dpdk-core';
import { createZone, openZone } from '@mp/mp-ring';
import { z } from 'zod';
import { LcoreAllocator, roleName, socketId } from './allocator';
import { MAX_SLOTS, ROLE_MAX, allocatorZone } from './allocator-zone';
import { defaultLeaseIds, lcoreIdSchema } from './lease-args';

export const DEFAULT_ALLOCATOR_NAME = 'mp_lcore_alloc';

const idSpec = z.union([lcoreIdSchema, z.object({ id: lcoreIdSchema, role: roleName.optional(), socket: socketId.optional() }).strict()]);

const createSchema = z
  .object({
    name: memzoneNameSchema.default(DEFAULT_ALLOCATOR_NAME),
    /**
     * Ids to lease, each optionally tagged with a role and a NUMA socket.
     * Default: every id below RTE_MAX_LCORE that is not an EAL lcore of the
     * creating process and not in `reserved`.
     */
    ids: z.array(idSpec).nonempty('give at least one id').max(MAX_SLOTS).optional(),
    /** Ids never to lease, e.g. the -l ids of pinned secondaries. */
    reserved: z.array(lcoreIdSchema).default([]),
    /** NUMA socket for the memzone itself. */
    socket: socketId.default(-1),
  })
  .strict();

export type CreateOptions = z.input<typeof createSchema>;

/**
 * Creates the allocator's memzone (in the primary) over the given ids or the
 * default set. 'E_RTE_SECONDARY' from a secondary: the zone must outlive
 * secondaries, and a default id set is only right against the primary's
 * lcores.
 */
export function createLcoreAllocator(options: CreateOptions = {}): LcoreAllocator {
  const o = validate(createSchema, options, 'createLcoreAllocator', 'options');
  if (processType() !== 'primary') {
    throw dpdkError(
      'E_RTE_SECONDARY',
      'createLcoreAllocator',
      'only the primary creates the lcore allocator (it must outlive secondaries); secondaries use openLcoreAllocator()',
    );
  }
  const eal = lcores().map((l) => l.id);
  const specs = (o.ids ?? defaultLeaseIds(eal, o.reserved)).map((spec) =>
    typeof spec === 'number' ? { id: spec, role: '', socket: -1 } : { id: spec.id, role: spec.role ?? '', socket: spec.socket ?? -1 },
  );
  const seen = new Set<number>();
  for (const s of specs) {
    const why = seen.has(s.id)
      ? 'is listed twice'
      : o.reserved.includes(s.id)
        ? 'is also in reserved'
        : eal.includes(s.id)
          ? 'is an EAL lcore of this process (its -l/--lcores), so a floating process would share it'
          : null;
    if (why !== null) throw dpdkError('EINVAL', 'createLcoreAllocator', `lcore id ${s.id} ${why}; leave it out of ids`);
    seen.add(s.id);
  }
  const roles = ['', ...new Set(specs.map((s) => s.role).filter((r) => r !== ''))];
  if (roles.length > ROLE_MAX) {
    throw dpdkError('EINVAL', 'createLcoreAllocator', `at most ${ROLE_MAX - 1} distinct roles fit in the allocator (got ${roles.length - 1})`);
  }
  const zone = createZone(o.name, allocatorZone, {
    slots: specs.length,
    socket: o.socket,
    init: (z) => {
      roles.forEach((r, i) => (z.fields.roles[i] as Uint8Array).set(Buffer.from(r, 'latin1')));
      z.fields.roleCount = roles.length;
      specs.forEach((s, i) => {
        const slot = z.slot(i);
        slot.id = s.id;
        slot.socket = s.socket;
        slot.role = roles.indexOf(s.role);
      });
    },
  });
  return new LcoreAllocator(zone);
}

/** Opens an allocator another process created; 'E_LAYOUT' for a zone of another layout, 'EAGAIN' for one still being written. */
export function openLcoreAllocator(name: string = DEFAULT_ALLOCATOR_NAME): LcoreAllocator {
  return new LcoreAllocator(openZone(validate(memzoneNameSchema, name, 'openLcoreAllocator', 'allocator name'), allocatorZone));
}
