//! The registry of every linked tool: a perfect-hash index over the link-time slice.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock};

use linkme::distributed_slice;
use schemars::Schema;

use crate::ToolDescriptor;
use crate::index::PerfectIndex;
use crate::registered::{RegisterError, RegisteredTool, ToolExecutor};

/// Every tool defined with `#[tool]` in any crate linked into the program.
///
/// The name is deliberately long: linkme section names are global, and two
/// slices called `TOOLS` in one binary would collide.
#[distributed_slice]
pub static RUSTCHAIN_TOOL_DESCRIPTORS: [ToolDescriptor];

/// Two linked tools share a name. Both definitions are named so the author
/// can rename one; the registry never lets one silently replace the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateTool {
    /// The shared name.
    pub name: &'static str,
    /// Where the first definition is.
    pub first: crate::SourceLocation,
    /// Where the second definition is.
    pub second: crate::SourceLocation,
}

impl fmt::Display for DuplicateTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "two tools are named `{}`: one defined in {}, the other in {}; rename one of them with #[tool(name = \"...\")]",
            self.name, self.first, self.second
        )
    }
}

impl std::error::Error for DuplicateTool {}

/// An index of tools by name, built once; lookups allocate nothing.
///
/// Most programs use [`Registry::global`], built over every linked tool on first use.
pub struct Registry {
    /// Sorted by name, so iteration is deterministic.
    tools: Box<[&'static ToolDescriptor]>,
    index: PerfectIndex<'static>,
    input_schemas: Box<[OnceLock<Schema>]>,
    output_schemas: Box<[OnceLock<Schema>]>,
    /// Tools registered at run time, sorted by name, each kept for the life
    /// of the program (as a linked tool's descriptor is).
    registered: RwLock<Vec<&'static RegisteredTool>>,
    /// How many tools are registered, so a lookup that misses the linked
    /// tools takes no lock while there are none: linked tools pay nothing.
    registered_count: AtomicUsize,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("tools", &self.tools.len())
            .finish()
    }
}

static GLOBAL: OnceLock<Result<Registry, Box<DuplicateTool>>> = OnceLock::new();

impl Registry {
    /// The registry of every tool linked into this program, built on first use.
    ///
    /// # Panics
    /// If two linked tools share a name (the linker normally refuses such a
    /// program first); use [`Registry::try_global`] to handle it instead.
    pub fn global() -> &'static Registry {
        match Self::try_global() {
            Ok(registry) => registry,
            Err(duplicate) => panic!("{duplicate}"),
        }
    }

    /// The registry of every linked tool, or the first pair of tools sharing a name.
    pub fn try_global() -> Result<&'static Registry, &'static DuplicateTool> {
        GLOBAL
            .get_or_init(|| Registry::build(RUSTCHAIN_TOOL_DESCRIPTORS.iter()))
            .as_ref()
            .map_err(|duplicate| &**duplicate)
    }

    /// Builds a registry over `descriptors`, refusing two tools with one name.
    pub fn build(
        descriptors: impl IntoIterator<Item = &'static ToolDescriptor>,
    ) -> Result<Registry, Box<DuplicateTool>> {
        let mut tools: Vec<&'static ToolDescriptor> = descriptors.into_iter().collect();
        tools.sort_by(|a, b| a.name.cmp(b.name).then(a.source.file.cmp(b.source.file)));
        if let Some(pair) = tools.windows(2).find(|pair| pair[0].name == pair[1].name) {
            return Err(Box::new(DuplicateTool {
                name: pair[0].name,
                first: pair[0].source,
                second: pair[1].source,
            }));
        }
        let names: Vec<&'static str> = tools.iter().map(|tool| tool.name).collect();
        let index =
            PerfectIndex::build(&names).expect("names were checked for duplicates just above");
        Ok(Registry {
            input_schemas: tools.iter().map(|_| OnceLock::new()).collect(),
            output_schemas: tools.iter().map(|_| OnceLock::new()).collect(),
            tools: tools.into_boxed_slice(),
            index,
            registered: RwLock::new(Vec::new()),
            registered_count: AtomicUsize::new(0),
        })
    }

    /// The tool called `name`, linked or registered. A linked tool's lookup
    /// allocates nothing and takes no lock.
    #[inline]
    pub fn get(&self, name: &str) -> Option<Tool<'_>> {
        match self.index.get(name) {
            Some(position) => Some(Tool {
                registry: self,
                entry: Entry::Linked(position),
            }),
            None if self.registered_count.load(Ordering::Acquire) == 0 => None,
            None => self.get_registered(name),
        }
    }

    #[cold]
    fn get_registered(&self, name: &str) -> Option<Tool<'_>> {
        let registered = self
            .registered
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        registered
            .binary_search_by(|tool| tool.descriptor.name.cmp(name))
            .ok()
            .map(|at| Tool {
                registry: self,
                entry: Entry::Registered(registered[at]),
            })
    }

    /// Registers a tool at run time, beside the linked ones: from now on it
    /// is looked up, listed, searched, checked and recorded like them.
    ///
    /// Refused (and nothing kept) when the name clashes with a linked or
    /// registered tool (the error names both), is not portable, or the spec
    /// is unusable. The registration's source location is the caller's.
    #[track_caller]
    pub fn register_tool(&self, tool: Box<dyn ToolExecutor>) -> Result<(), RegisterError> {
        let source = std::panic::Location::caller();
        let mut registered = self
            .registered
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let name = tool.spec().name();
        let clash = self.index.get(name).map(|at| self.tools[at]).or_else(|| {
            registered
                .binary_search_by(|t| t.descriptor.name.cmp(name))
                .ok()
                .map(|at| registered[at].descriptor)
        });
        if let Some(existing) = clash {
            return Err(RegisterError::Duplicate(Box::new(DuplicateTool {
                name: existing.name,
                first: existing.source,
                second: crate::registered::source_of(source),
            })));
        }
        let tool: &'static RegisteredTool = Box::leak(Box::new(RegisteredTool::new(tool, source)?));
        let at = registered
            .binary_search_by(|t| t.descriptor.name.cmp(tool.descriptor.name))
            .unwrap_or_else(|at| at);
        registered.insert(at, tool);
        self.registered_count
            .store(registered.len(), Ordering::Release);
        Ok(())
    }

    /// Every tool, linked and registered, ordered by name.
    pub fn tools(&self) -> impl ExactSizeIterator<Item = Tool<'_>> + '_ {
        let linked = (0..self.tools.len()).map(|position| Tool {
            registry: self,
            entry: Entry::Linked(position),
        });
        if self.registered_count.load(Ordering::Acquire) == 0 {
            return linked.collect::<Vec<_>>().into_iter();
        }
        let registered = self
            .registered
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<Tool<'_>> = linked
            .chain(registered.iter().map(|&tool| Tool {
                registry: self,
                entry: Entry::Registered(tool),
            }))
            .collect();
        all.sort_by_key(|tool| tool.name());
        all.into_iter()
    }

    /// The linked tools alone, in name order, at their linked positions.
    #[doc(hidden)]
    pub fn linked(&self) -> impl ExactSizeIterator<Item = Tool<'_>> + '_ {
        (0..self.tools.len()).map(|position| Tool {
            registry: self,
            entry: Entry::Linked(position),
        })
    }

    /// How many tools there are, linked and registered.
    pub fn len(&self) -> usize {
        self.tools.len() + self.registered_count.load(Ordering::Acquire)
    }

    /// Whether there are no tools at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One tool of a [`Registry`]: its descriptor, and its schemas built once and cached.
#[derive(Clone, Copy)]
pub struct Tool<'r> {
    registry: &'r Registry,
    entry: Entry,
}

#[derive(Clone, Copy)]
enum Entry {
    /// At this position of the linked tools.
    Linked(usize),
    /// Registered at run time.
    Registered(&'static RegisteredTool),
}

impl<'r> Tool<'r> {
    /// The tool's descriptor (for a registered tool, built from its spec at
    /// registration; its schemas are read through [`Tool::input_schema`]).
    pub fn descriptor(&self) -> &'static ToolDescriptor {
        match self.entry {
            Entry::Linked(position) => self.registry.tools[position],
            Entry::Registered(tool) => tool.descriptor,
        }
    }

    /// The tool's position among the linked tools (in name order), or `None`
    /// for a tool registered at run time.
    pub fn linked_index(&self) -> Option<usize> {
        match self.entry {
            Entry::Linked(position) => Some(position),
            Entry::Registered(_) => None,
        }
    }

    /// Whether the tool was registered at run time rather than linked.
    pub fn is_registered(&self) -> bool {
        matches!(self.entry, Entry::Registered(_))
    }

    /// The run-time tool this is, if it is one. Not a public API: the
    /// runtime's executor dispatches through it.
    #[doc(hidden)]
    pub fn registered(&self) -> Option<&'static RegisteredTool> {
        match self.entry {
            Entry::Linked(_) => None,
            Entry::Registered(tool) => Some(tool),
        }
    }

    /// The tool's name.
    pub fn name(&self) -> &'static str {
        self.descriptor().name
    }

    /// The input schema (JSON Schema 2020-12), built on first use.
    pub fn input_schema(&self) -> &'r Schema {
        match self.entry {
            Entry::Linked(position) => {
                let descriptor = self.descriptor();
                self.registry.input_schemas[position]
                    .get_or_init(|| (descriptor.input_schema)(descriptor.params))
            }
            Entry::Registered(tool) => &tool.input_schema,
        }
    }

    /// The output schema, built on first use.
    pub fn output_schema(&self) -> &'r Schema {
        match self.entry {
            Entry::Linked(position) => {
                self.registry.output_schemas[position].get_or_init(self.descriptor().output_schema)
            }
            Entry::Registered(tool) => &tool.output_schema,
        }
    }
}

impl fmt::Debug for Tool<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Tool").field(&self.name()).finish()
    }
}
