import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';

/** A `file:function` name in a doc: `src/sse/sse-connection.ts:SseConnection.send`. */
export interface CodeReference {
  readonly file: string;
  /** A top-level declaration, or `Class.member`. */
  readonly name: string;
  readonly text: string;
}

/** One `### Trail` section of a doc. */
export interface Trail {
  readonly title: string;
  /** The files the trail says it opens (its `Files opened:` list), by base name. */
  readonly opened: readonly string[];
  /** The names in its numbered steps: their files are the ones a reader opens. */
  readonly steps: readonly CodeReference[];
  /** The names elsewhere in the trail: named, not counted. */
  readonly named: readonly CodeReference[];
}

const SECTION = '## Two trails through the code';
const REFERENCE = /`(src\/[\w./-]+\.ts):([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?)`/g;
const STEP = /^\d+\.\s/;

/**
 * Reads the code trails of a doc and checks that every name they give is still declared, with
 * the TypeScript compiler's parser: a rename or a move in the code fails the doc's spec.
 */
export class DocTrails {
  private readonly declarations = new Map<string, Map<string, Set<string>> | undefined>();

  constructor(private readonly root: string) {}

  read(doc: string): Trail[] {
    const start = doc.indexOf(SECTION);
    if (start < 0) {
      return [];
    }
    const rest = doc.slice(start + SECTION.length);
    const end = rest.search(/^## /m);
    const section = end < 0 ? rest : rest.slice(0, end);
    return section
      .split(/^### /m)
      .slice(1)
      .filter((part) => part.startsWith('Trail'))
      .map((part) => this.trail(part));
  }

  /** The references that name nothing: a file, a declaration or a member that is not there. */
  missing(references: readonly CodeReference[]): CodeReference[] {
    return references.filter(({ file, name }) => {
      const declared = this.declarationsOf(file);
      const [owner, member] = name.split('.');
      const members = declared?.get(owner);
      return members === undefined || (member !== undefined && !members.has(member));
    });
  }

  private trail(part: string): Trail {
    const [title, ...lines] = part.split('\n');
    const steps: CodeReference[] = [];
    const named: CodeReference[] = [];
    let inStep = false;
    for (const line of lines) {
      inStep = STEP.test(line) || (inStep && /^\s+\S/.test(line));
      (inStep ? steps : named).push(...referencesIn(line));
    }
    const body = lines.join('\n');
    const list = /Files\s+opened:([^]*?)\n\n/.exec(body)?.[1] ?? '';
    const opened = [...list.matchAll(/`([\w.-]+\.ts)`/g)].map((match) => match[1]);
    return { title: title.trim(), opened, steps, named };
  }

  /** Each top-level declaration of a file with its members' names; undefined when there is no file. */
  private declarationsOf(file: string): Map<string, Set<string>> | undefined {
    if (!this.declarations.has(file)) {
      const path = join(this.root, file);
      this.declarations.set(file, existsSync(path) ? declared(path) : undefined);
    }
    return this.declarations.get(file);
  }
}

function referencesIn(line: string): CodeReference[] {
  return [...line.matchAll(REFERENCE)].map(([text, file, name]) => ({ file, name, text }));
}

function declared(path: string): Map<string, Set<string>> {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const names = new Map<string, Set<string>>();
  const add = (name: ts.Node | undefined, members: readonly ts.Node[] = []) => {
    if (name && ts.isIdentifier(name)) {
      const own = members.flatMap((member) => {
        const memberName = (member as { name?: ts.Node }).name;
        return memberName && (ts.isIdentifier(memberName) || ts.isPrivateIdentifier(memberName))
          ? [memberName.text]
          : [];
      });
      names.set(name.text, new Set(own));
    }
  };
  for (const statement of source.statements) {
    if (ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement)) {
      add(statement.name, statement.members);
    } else if (ts.isFunctionDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
      add(statement.name);
    } else if (ts.isEnumDeclaration(statement)) {
      add(statement.name, statement.members);
    } else if (ts.isVariableStatement(statement)) {
      statement.declarationList.declarations.forEach((declaration) => add(declaration.name));
    }
  }
  return names;
}
