//! Running a sync tool from its argument text: decode, guard, call, encode.
//!
//! One driver, [`call_sync`], does all four for every sync tool; it is
//! generic over the tool's parameter tuple, how the tool is called and its
//! result type, so a crate compiles it once per *signature*, not once per
//! tool (D-74). What `#[tool]` writes per tool is a three-line function that
//! hands the driver the tool's function as a plain `fn` pointer, with the
//! tool's parameter list and result encoder: no decoding, no drop or unwind
//! path, no encoding of its own.

use crate::guard::Guarded;
use crate::{ParamInfo, ToolContext, ToolError, ToolOutput};

/// What a finished call gives the caller.
type Outcome = Result<ToolOutput, ToolError>;

/// A tool function taking its model arguments as the tuple `P`.
///
/// Implemented for `fn` pointers of up to 16 parameters (a tool with no
/// context parameter, called with the tuple's values in order) and for
/// [`WithContext`] (a tool that also takes the call's `&ToolContext`).
#[doc(hidden)]
pub trait Call<P> {
    /// What the tool function returns.
    type Output;

    /// Calls the tool with its decoded arguments.
    fn call(self, ctx: &ToolContext, args: P) -> Self::Output;
}

/// A tool that takes the call's context too: a function of the context and
/// the tuple of model arguments that `#[tool]` writes for it, since the
/// context may stand anywhere among the parameters.
#[doc(hidden)]
pub struct WithContext<P, R>(pub for<'c> fn(&'c ToolContext, P) -> R);

impl<P, R> Call<P> for WithContext<P, R> {
    type Output = R;

    #[inline]
    fn call(self, ctx: &ToolContext, args: P) -> R {
        (self.0)(ctx, args)
    }
}

macro_rules! call_fn {
    ($( $T:ident ),*) => {
        impl<R, $($T),*> Call<($($T,)*)> for fn($($T),*) -> R {
            type Output = R;

            #[inline]
            #[allow(non_snake_case)]
            fn call(self, _: &ToolContext, ($($T,)*): ($($T,)*)) -> R {
                self($($T),*)
            }
        }
    };
}

call_fn!();
call_fn!(A);
call_fn!(A, B);
call_fn!(A, B, C);
call_fn!(A, B, C, D);
call_fn!(A, B, C, D, E);
call_fn!(A, B, C, D, E, F);
call_fn!(A, B, C, D, E, F, G);
call_fn!(A, B, C, D, E, F, G, H);
call_fn!(A, B, C, D, E, F, G, H, I);
call_fn!(A, B, C, D, E, F, G, H, I, J);
call_fn!(A, B, C, D, E, F, G, H, I, J, K);
call_fn!(A, B, C, D, E, F, G, H, I, J, K, L);
call_fn!(A, B, C, D, E, F, G, H, I, J, K, L, N);
call_fn!(A, B, C, D, E, F, G, H, I, J, K, L, N, O);
call_fn!(A, B, C, D, E, F, G, H, I, J, K, L, N, O, Q);
call_fn!(A, B, C, D, E, F, G, H, I, J, K, L, N, O, Q, S);

/// The guard check of a tool with guarded parameters: hands the decoded
/// values the guards see to [`ToolContext::__check_and_proceed`].
#[doc(hidden)]
pub type GuardFn<P> = for<'c, 'p> fn(&'c ToolContext, &'p P) -> Result<(), ToolError>;

/// How a tool's return value becomes the call's output: one of the
/// functions of [`finish`](crate::output::finish), and the encoder of the
/// result type (`ResultType::encode`). Both are shared by every tool
/// returning that type.
#[doc(hidden)]
pub struct Finish<R, T> {
    /// `finish::value` or `finish::result`.
    pub finish: fn(R, fn(T) -> Outcome) -> Outcome,
    /// Encodes the value the tool returned (in `Ok`, for a `Result`).
    pub encode: fn(T) -> Outcome,
}

/// One sync call: `decode` the text, check the guards (or only ask the
/// executor to proceed), call the tool and encode what it returned. The
/// decoded values drop here if the check refuses the call.
///
/// `#[inline]`: in an optimized build the per-tool function that calls this
/// inlines it, its `fn` pointers are then constants, and the tool, the
/// decoder and the encoder are called directly, as before (D-74).
#[doc(hidden)]
#[inline]
#[allow(
    clippy::question_mark,
    reason = "no `Try` per signature: a `?` is two calls in a dev build"
)]
pub fn call_sync<P, C: Call<P>, T>(
    ctx: &ToolContext,
    text: &str,
    params: &'static [ParamInfo],
    decode: fn(&str, &'static [ParamInfo]) -> Result<P, ToolError>,
    guard: Option<GuardFn<P>>,
    call: C,
    finish: Finish<C::Output, T>,
) -> Outcome {
    let values = match decode(text, params) {
        Ok(values) => values,
        Err(err) => return Err(err),
    };
    let checked = match guard {
        Some(guard) => guard(ctx, &values),
        None => ctx.__check_and_proceed(&[] as &[Guarded<'_>]),
    };
    if let Err(err) = checked {
        return Err(err);
    }
    (finish.finish)(call.call(ctx, values), finish.encode)
}
