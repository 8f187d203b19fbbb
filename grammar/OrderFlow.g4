// The orderflow policy language.
//
// Newlines are not significant: every item and every clause starts with a
// keyword, so a rule may be laid out over as many lines as reads best. The
// parse tree never leaves compiler/syntax: parser.cpp turns it into the AST
// of compiler/syntax/ast.h.
grammar OrderFlow;

@lexer::members {
  // Units stick to a number only when no identifier character follows, so
  // that `5 max` is a number and a name, not 5 metres and "ax".
  static bool isIdentChar(size_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
  }
}

// ---------------------------------------------------------------- files

bundleFile : item* EOF ;

item
  : policyHeader
  | versionDecl
  | ownerDecl
  | timezoneDecl
  | useDecl
  | constDecl
  | ruleDecl
  | otherwiseDecl
  | tableDecl
  | machineDecl
  | recordDecl
  | extendRecordDecl
  | enumDecl
  | extendEnumDecl
  | testDecl
  ;

policyHeader : POLICY name STRING? ;
versionDecl  : VERSION STRING ;
ownerDecl    : OWNER STRING ;
timezoneDecl : TIMEZONE STRING ;

useDecl
  : USE LIST name (OF typeRef)? FROM STRING          # useList
  | USE GEO name FROM STRING                         # useGeo
  | USE RATES name FROM STRING                       # useRates
  | USE TABLE table=name OF record=name (BY key=name)? FROM STRING  # useTable
  | USE NODES FROM STRING                            # useNodes
  | USE STOCK FROM STRING                            # useStock
  | USE CALENDAR name FROM STRING                    # useCalendar
  | USE HOURS name FROM STRING (CLOSED ON closed=name)?  # useHours
  ;

constDecl : CONST name (COLON typeRef)? ASSIGN expr ;

// ---------------------------------------------------------------- rules

ruleDecl      : RULE STRING (WHEN expr)? THEN action+ ;
otherwiseDecl : OTHERWISE action+ ;

action
  : decision                                   # decisionAction
  | SET PRIORITY expr                          # setPriorityAction
  | SET field=name expr                        # setFieldAction
  | TAG expr                                   # tagAction
  | NOTIFY target=expr (PRIORITY priority=expr)?       # notifyAction
  | ESCALATE TO target=expr (PRIORITY priority=expr)?  # escalateAction
  | ROUTE FROM NODES (WHERE expr)? routeClause* (ELSE routeElse)?  # routeAction
  | REFUND what=name                           # refundAction
  | CHARGE label=name? FEE expr                # chargeAction
  ;

decision
  : ACCEPT                                                  # acceptDecision
  | HOLD STRING holdLimit? (ON TIMEOUT decision)?           # holdDecision
  | REJECT STRING                                           # rejectDecision
  | CANCEL STRING                                           # cancelDecision
  | BACKORDER                                               # backorderDecision
  | APPROVE (REFUND refundTiming)? (KEEP kept=name)?         # approveDecision
  | RESTOCK (TO STRING)?                                    # restockDecision
  | QUARANTINE                                              # quarantineDecision
  | WRITE off=name                                          # writeOffDecision
  | RETURN TO destination=name                              # returnToDecision
  | REATTEMPT                                               # reattemptDecision
  | RESCHEDULE TO expr                                      # rescheduleDecision
  ;

// When a return's money goes back: `approve refund after inspection`.
refundTiming
  : NOW                                        # refundNow
  | AFTER when=name                            # refundAfter
  ;

holdLimit
  : FOR expr                                   # holdFor
  | UNTIL NEXT CLOCK                           # holdUntilClock
  | UNTIL expr                                 # holdUntil
  ;

routeClause
  : PREFER preference (THEN preference)*       # preferClause
  | NO SPLIT                                   # noSplitClause
  | SPLIT AT MOST expr                         # splitClause
  | KEEP expr UNITS SAFETY STOCK               # safetyStockClause
  ;

preference
  : NEAREST                                    # nearestPreference
  | CHEAPEST                                   # cheapestPreference
  | LOWEST expr                                # lowestPreference
  | HIGHEST expr                               # highestPreference
  ;

routeElse
  : decision                                   # elseDecision
  | CONTINUE                                   # elseContinue
  ;

// ---------------------------------------------------------------- tables

tableDecl  : TABLE name LPAREN tableParam (COMMA tableParam)* RPAREN ARROW typeRef tableRow+ ;
tableParam : name COLON typeRef ;
tableRow   : PIPE (tableCell PIPE)+ ;
tableCell
  : STAR                                       # anyCell
  | DASHES                                     # ruleCell
  | op=(LT | LE | GT | GE | NE) expr           # compareCell
  | NOT expr                                   # notCell
  | expr                                       # valueCell
  ;

// ---------------------------------------------------------------- machines

machineDecl : MACHINE name machineItem* ;
machineItem
  : INITIAL name                                                         # initialState
  | stateSet ARROW targets+=name (PIPE targets+=name)* (ON event=name)? (BY policy=name)? (AFTER wait=expr)? (WHEN guard=expr)?  # transition
  | TERMINAL name (COMMA name)*                                          # terminalStates
  ;
stateSet
  : name                                       # singleState
  | LBRACK name (COMMA name)* RBRACK           # stateList
  ;

// ---------------------------------------------------------------- schema

recordDecl       : RECORD name fieldDecl* ;
extendRecordDecl : EXTEND RECORD name fieldDecl* ;
fieldDecl        : name COLON typeRef QUESTION? (ASSIGN expr)? ;
enumDecl         : ENUM enumName=name values+=name (COMMA? values+=name)* ;
extendEnumDecl   : EXTEND ENUM enumName=name values+=name (COMMA? values+=name)* ;

typeRef
  : LIST OF typeRef                            # listType
  | SET OF typeRef                             # setType
  | name                                       # namedType
  ;

// ---------------------------------------------------------------- tests

testDecl : TEST STRING testClause* ;
testClause
  : name FROM STRING                                   # testOrderFile
  | name RAW_STRING                                    # testOrderInline
  | WITH assignment (COMMA assignment)*                # testWith
  | AT STRING                                          # testAt
  | THEN EVENT name (OF returnLine (COMMA returnLine)*)? (AT STRING)?  # testThenEvent
  | THEN UPDATE WITH assignment (COMMA assignment)* (AT STRING)?     # testThenUpdate
  | THEN ROUTED                                        # testThenRouted
  | AFTER expr                                         # testAfter
  | THEN RETURN OF returnLine (COMMA returnLine)* (word=name reason=name)? (AT STRING)?  # testThenReturn
  | THEN GRADE gradedUnit (COMMA gradedUnit)*          # testThenGrade
  | THEN NDR reason=name (word=name attempt=INT)? (AT STRING)?  # testThenNdr
  | EXPECT NOT? expectation (BY RULE STRING)?          # testExpect
  ;
// `line "1" quantity 2`: what a story's return takes back.
returnLine : what=name id=STRING (word=name quantity=INT)? ;
// `A`, `C reason defective`: one unit's grade.
gradedUnit : grade=name (word=name reason=name)? ;
assignment : path ASSIGN expr ;
path       : name (DOT memberName)* ;
expectation
  : decision                                   # expectDecision
  | PRIORITY expr                              # expectPriority
  | TAG STRING                                 # expectTag
  | ROUTE TO STRING (COMMA STRING)*            # expectRoute
  | NOTIFY STRING                              # expectNotify
  | ESCALATE TO STRING                         # expectEscalate
  | THAT expr                                  # expectThat
  | NO what=(PRIORITY | TAG | NOTIFY | ESCALATE) # expectNone
  | STATE name                                 # expectState
  | RETURN state=name (COMMA REFUND refundTiming)? (COMMA KEEP kept=name)?  # expectReturn
  | DISPOSITION decision                       # expectDisposition
  | NDR decision                               # expectNdr
  | field=name expr                            # expectField
  ;

// ---------------------------------------------------------------- expressions
// Alternatives are listed from the tightest binding to the loosest.

expr
  : LPAREN expr RPAREN                                   # parenExpr
  | expr DOT memberName LPAREN (expr (COMMA expr)*)? RPAREN  # methodExpr
  | expr DOT memberName                                  # memberExpr
  | name LPAREN expr FOR name IN expr (WHERE expr)? RPAREN  # comprehensionExpr
  | name LPAREN (expr (COMMA expr)*)? RPAREN             # callExpr
  | MINUS expr                                           # negateExpr
  | expr op=(STAR | SLASH | PERCENT) expr                # multiplyExpr
  | expr op=(PLUS | MINUS) expr                          # addExpr
  | expr op=(LT | LE | GT | GE | EQ | NE) expr           # compareExpr
  | expr IS NOT? (MISSING | PRESENT)                     # presenceExpr
  | expr IS NOT? expr                                    # isExpr
  | expr NOT? IN expr                                    # inExpr
  | expr MATCHES expr                                    # matchesExpr
  | NOT expr                                             # notExpr
  | expr AND expr                                        # andExpr
  | expr OR expr                                         # orExpr
  | quantifier=(ANY | ALL) name IN expr WHERE expr       # quantifierExpr
  | LBRACK (expr (COMMA expr)*)? RBRACK                  # listExpr
  | literal                                              # literalExpr
  | NOW                                                  # nowExpr
  | NODES                                                # nodesExpr
  | name                                                 # nameExpr
  ;

literal
  : INT | DECIMAL | PERCENTAGE | MONEY | DURATION | DISTANCE | STRING | TRUE | FALSE
  ;

// Keywords that read naturally as names (an event `cancel`, a field
// `priority`) are accepted wherever a name is; keywords that start an item
// are not, so that a list of names always ends where the next item begins.
name
  : IDENT
  | LIST | GEO | RATES | FROM | OF | BY | ACCEPT | HOLD | FOR | ON | TIMEOUT
  | REJECT | CANCEL | BACKORDER | SET | PRIORITY | TAG | NOTIFY | ESCALATE
  | TO | ROUTE | PREFER | NEAREST | CHEAPEST | LOWEST | HIGHEST | SPLIT
  | AT | MOST | NO | KEEP | UNITS | SAFETY | STOCK | CONTINUE | WITH | EXPECT | THAT
  | TIMEZONE | CALENDAR | HOURS | CLOSED | UNTIL | NEXT | MATCHES
  | EVENT | ROUTED | AFTER | STATE
  | APPROVE | REFUND | RESTOCK | QUARANTINE | WRITE | RETURN | REATTEMPT | RESCHEDULE
  | CHARGE | FEE | GRADE | DISPOSITION | NDR | UPDATE
  ;

memberName : name | keyword ;
keyword
  : POLICY | VERSION | OWNER | USE | CONST | RULE | WHEN | THEN | OTHERWISE
  | TABLE | MACHINE | RECORD | EXTEND | ENUM | TEST | AND | OR | NOT | IN
  | IS | MISSING | PRESENT | ANY | ALL | WHERE | ELSE | NOW | NODES | TRUE
  | FALSE | INITIAL | TERMINAL
  ;

// ---------------------------------------------------------------- lexer

POLICY    : 'policy' ;
VERSION   : 'version' ;
OWNER     : 'owner' ;
TIMEZONE  : 'timezone' ;
CALENDAR  : 'calendar' ;
HOURS     : 'hours' ;
CLOSED    : 'closed' ;
UNTIL     : 'until' ;
NEXT      : 'next' ;
MATCHES   : 'matches' ;
EVENT     : 'event' ;
ROUTED    : 'routed' ;
AFTER     : 'after' ;
STATE     : 'state' ;
APPROVE   : 'approve' ;
REFUND    : 'refund' ;
RESTOCK   : 'restock' ;
QUARANTINE : 'quarantine' ;
WRITE     : 'write' ;
RETURN    : 'return' ;
REATTEMPT : 'reattempt' ;
RESCHEDULE : 'reschedule' ;
CHARGE    : 'charge' ;
FEE       : 'fee' ;
GRADE     : 'grade' ;
DISPOSITION : 'disposition' ;
NDR       : 'ndr' ;
UPDATE    : 'update' ;
USE       : 'use' ;
LIST      : 'list' ;
GEO       : 'geo' ;
RATES     : 'rates' ;
TABLE     : 'table' ;
NODES     : 'nodes' ;
STOCK     : 'stock' ;
FROM      : 'from' ;
OF        : 'of' ;
BY        : 'by' ;
CONST     : 'const' ;
RULE      : 'rule' ;
WHEN      : 'when' ;
THEN      : 'then' ;
OTHERWISE : 'otherwise' ;
ACCEPT    : 'accept' ;
HOLD      : 'hold' ;
FOR       : 'for' ;
ON        : 'on' ;
TIMEOUT   : 'timeout' ;
REJECT    : 'reject' ;
CANCEL    : 'cancel' ;
BACKORDER : 'backorder' ;
SET       : 'set' ;
PRIORITY  : 'priority' ;
TAG       : 'tag' ;
NOTIFY    : 'notify' ;
ESCALATE  : 'escalate' ;
TO        : 'to' ;
ROUTE     : 'route' ;
WHERE     : 'where' ;
PREFER    : 'prefer' ;
NEAREST   : 'nearest' ;
CHEAPEST  : 'cheapest' ;
LOWEST    : 'lowest' ;
HIGHEST   : 'highest' ;
SPLIT     : 'split' ;
AT        : 'at' ;
MOST      : 'most' ;
NO        : 'no' ;
KEEP      : 'keep' ;
UNITS     : 'units' ;
SAFETY    : 'safety' ;
ELSE      : 'else' ;
CONTINUE  : 'continue' ;
MACHINE   : 'machine' ;
INITIAL   : 'initial' ;
TERMINAL  : 'terminal' ;
RECORD    : 'record' ;
EXTEND    : 'extend' ;
ENUM      : 'enum' ;
TEST      : 'test' ;
WITH      : 'with' ;
EXPECT    : 'expect' ;
THAT      : 'that' ;
AND       : 'and' ;
OR        : 'or' ;
NOT       : 'not' ;
IN        : 'in' ;
IS        : 'is' ;
MISSING   : 'missing' ;
PRESENT   : 'present' ;
ANY       : 'any' ;
ALL       : 'all' ;
NOW       : 'now' ;
TRUE      : 'true' ;
FALSE     : 'false' ;

// A duration is a number glued to a short unit (`90s`, `30m`, `24h`, `7d`,
// `1h30m`) or followed by a spelled-out unit (`30 minutes`). `30m` is thirty
// minutes; thirty metres is written `30 m`, with a space.
DURATION
  : (DIGITS DURATION_UNIT)+
  | DIGITS [ \t]* DURATION_WORD {!isIdentChar(_input->LA(1))}?
  ;
DISTANCE  : NUMBER [ \t]* ('km' | 'm') {!isIdentChar(_input->LA(1))}? ;
MONEY     : NUMBER [ \t]* [A-Z] [A-Z] [A-Z] {!isIdentChar(_input->LA(1))}? ;
// `30%` is the decimal 0.30; a remainder is written with spaces, `7 % 2`.
PERCENTAGE : NUMBER '%' ;
// A time of day, `07:00`, as in `hold ... until next 07:00`.
CLOCK     : [0-9] [0-9]? ':' [0-9] [0-9] ;
DECIMAL   : DIGITS '.' DIGITS ;
INT       : DIGITS ;

RAW_STRING : '"""' .*? '"""' ;
STRING     : '"' (~["\\\r\n] | '\\' .)* '"' ;
UNTERMINATED_STRING : '"' (~["\\\r\n] | '\\' .)* ;

ARROW     : '->' ;
DASHES    : '---' '-'* ;
LE        : '<=' ;
GE        : '>=' ;
EQ        : '==' ;
NE        : '!=' ;
LT        : '<' ;
GT        : '>' ;
ASSIGN    : '=' ;
PLUS      : '+' ;
MINUS     : '-' ;
STAR      : '*' ;
SLASH     : '/' ;
PERCENT   : '%' ;
LPAREN    : '(' ;
RPAREN    : ')' ;
LBRACK    : '[' ;
RBRACK    : ']' ;
COMMA     : ',' ;
COLON     : ':' ;
DOT       : '.' ;
PIPE      : '|' ;
QUESTION  : '?' ;

IDENT     : [a-zA-Z_] [a-zA-Z0-9_]* ;

COMMENT   : '#' ~[\r\n]* -> channel(HIDDEN) ;
NEWLINE   : '\r'? '\n' -> channel(HIDDEN) ;
SPACE     : [ \t]+ -> channel(HIDDEN) ;

UNKNOWN_CHAR : . ;

fragment DIGITS        : [0-9]+ ;
fragment NUMBER        : DIGITS ('.' DIGITS)? ;
fragment DURATION_UNIT : 'ms' | 's' | 'm' | 'h' | 'd' | 'w' ;
fragment DURATION_WORD
  : 'second' 's'? | 'sec' 's'? | 'minute' 's'? | 'min' 's'?
  | 'hour' 's'? | 'hr' 's'? | 'day' 's'? | 'week' 's'?
  ;
