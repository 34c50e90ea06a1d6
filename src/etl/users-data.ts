/**
 * The users API's data set: deterministic (the same id always gives the same user), shaped like
 * the seed's source (dummyjson's `/users`), with a known share of invalid users, each invalid in
 * one known way. Tests and the bench compute what a run must produce from `invalidKind`.
 *
 * No Node built-ins: the generator is pure.
 */

export const DEPARTMENTS: readonly { department: string; code: string }[] = [
  { department: 'Engineering', code: 'ENG' },
  { department: 'Support', code: 'SUP' },
  { department: 'Research and Development', code: 'RND' },
  { department: 'Human Resources', code: 'HR' },
  { department: 'Product Management', code: 'PM' },
  { department: 'Marketing', code: 'MKT' },
  { department: 'Services', code: 'SRV' },
  { department: 'Accounting', code: 'ACC' },
  { department: 'Training', code: 'TRN' },
  { department: 'Legal', code: 'LEG' },
  { department: 'Sales', code: 'SAL' },
  { department: 'Business Development', code: 'BD' },
];

/** departments.csv as the seed has it: `department,code`. */
export function departmentsCsv(): string {
  return ['department,code', ...DEPARTMENTS.map((d) => `${d.department.includes(',') ? `"${d.department}"` : d.department},${d.code}`)].join('\n') + '\n';
}

/** The ways a generated user is invalid, with the rule key (`<field>:<rule>`) a run reports for it. */
export const INVALID_KINDS = {
  age_too_high: 'age:max',
  age_too_low: 'age:min',
  age_not_number: 'age:type',
  bad_email: 'email:format',
  missing_first_name: 'firstName:required',
  missing_department: 'company.department:required',
  unknown_department: 'company.department:lookup',
} as const;
export type InvalidKind = keyof typeof INVALID_KINDS;

// id % 100 → how that user is broken (7 % of the data set).
const BROKEN: Record<number, InvalidKind> = {
  7: 'age_too_high',
  13: 'age_too_low',
  21: 'bad_email',
  34: 'missing_first_name',
  42: 'missing_department',
  55: 'unknown_department',
  68: 'age_not_number',
};

export const UNKNOWN_DEPARTMENT = 'Quantum Operations';

export function invalidKind(id: number): InvalidKind | undefined {
  return BROKEN[id % 100];
}

/** What a run over users 1..total must report: dead letters by rule key, and the valid count. */
export function expectedOutcome(total: number, first = 1): { valid: number; invalid: number; byRule: Record<string, number> } {
  const byRule: Record<string, number> = {};
  let invalid = 0;
  for (let id = first; id < first + total; id++) {
    const kind = invalidKind(id);
    if (!kind) continue;
    invalid++;
    const rule = INVALID_KINDS[kind];
    byRule[rule] = (byRule[rule] ?? 0) + 1;
  }
  return { valid: total - invalid, invalid, byRule };
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Emily', 'Michael', 'Sophia', 'James', 'Emma', 'Olivia', 'Alexander', 'Ava', 'Ethan', 'Isabella', 'Liam', 'Mia', 'Noah', 'Charlotte', 'Lucas', 'Amelia', 'Mateo', 'Harper', 'Aiko', 'Chen'];
const LAST = ['Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Nakamura', 'Okafor', 'Novak', 'Silva'];
const CITIES = ['Phoenix', 'Houston', 'Chicago', 'Denver', 'Seattle', 'Boston', 'Austin', 'Portland'];
const TITLES = ['Manager', 'Engineer', 'Analyst', 'Specialist', 'Coordinator', 'Director', 'Associate'];

export type User = Record<string, unknown>;

/** The user with this id (1-based), the same every time for the same seed. */
export function generateUser(id: number, seed = 2): User {
  const r = rng(id * 2654435761 + seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const firstName = pick(FIRST);
  const lastName = pick(LAST);
  const dept = pick(DEPARTMENTS).department;
  const user: User = {
    id,
    firstName,
    lastName,
    age: 18 + Math.floor(r() * 48),
    gender: r() < 0.5 ? 'female' : 'male',
    email: `${firstName.toLowerCase()}.${lastName.toLowerCase()}${id}@example.com`,
    phone: `+1 555-${String(1000 + Math.floor(r() * 9000))}`,
    username: `${firstName.toLowerCase()}${id}`,
    birthDate: `19${60 + Math.floor(r() * 40)}-${String(1 + Math.floor(r() * 12)).padStart(2, '0')}-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}`,
    address: { city: pick(CITIES), country: 'United States' },
    company: { department: dept, name: `${pick(LAST)} and ${pick(LAST)}`, title: pick(TITLES) },
  };
  switch (invalidKind(id)) {
    case 'age_too_high':
      user.age = 66 + Math.floor(r() * 20);
      break;
    case 'age_too_low':
      user.age = 10 + Math.floor(r() * 8);
      break;
    case 'age_not_number':
      user.age = 'forty';
      break;
    case 'bad_email':
      user.email = `${firstName.toLowerCase()}${id}.example.com`;
      break;
    case 'missing_first_name':
      delete user.firstName;
      break;
    case 'missing_department':
      delete (user.company as Record<string, unknown>).department;
      break;
    case 'unknown_department':
      (user.company as Record<string, unknown>).department = UNKNOWN_DEPARTMENT;
      break;
    default:
      break;
  }
  return user;
}
